// Prometheus metrics: counters kept here, the text exposition (format 0.0.4) rendered by a pure function.
// Names follow the Prometheus conventions: base units (seconds, bytes), `_total` on counters only, and no
// gauge named like a counter's family (`airlock_bundle_records` beside `airlock_bundles_finished_total`).
// docs/observability.md lists every metric; test/metrics-exposition.test.ts has promtool and Prometheus read it.
import type { FinishedBundle } from '../pipeline/pipeline.js';

export const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200];

export type Outcome = FinishedBundle['outcome'];
const OUTCOMES: readonly Outcome[] = ['installed', 'rejected', 'failed', 'duplicate'];
/** Outcomes that timed a verification: a duplicate read nothing past its signatures. */
const TIMED: readonly Outcome[] = ['installed', 'rejected', 'failed'];

interface Histogram {
  /** cumulative counts per DURATION_BUCKETS bound */
  buckets: number[];
  sum: number;
  count: number;
}

export interface MetricsSnapshot {
  version: string;
  bundlesFinished: Record<Outcome, number>;
  /** rejections and host failures by error code */
  rejections: Record<string, number>;
  failures: Record<string, number>;
  verifiedBytes: number;
  verifiedFiles: number;
  /** verification time per outcome */
  duration: Record<string, Histogram>;
  /** Unix seconds of the newest install kept in the store, per model */
  lastInstall: Array<{ model: string; seconds: number }>;
  currentSequence: Array<{ model: string; channel: string; sequence: number }>;
  bundleRecords: Record<string, number>;
  queueLength: number;
  /** free bytes for an unprivileged writer on the store's file system; absent when it cannot be read */
  storeFreeBytes?: number;
  startTimeSeconds: number;
  eventClients: number;
  eventClientsDroppedTotal: number;
}

export type LiveValues = Pick<MetricsSnapshot, 'lastInstall' | 'currentSequence' | 'bundleRecords' | 'queueLength' | 'eventClients'> & {
  storeFreeBytes?: number;
};

export class Metrics {
  private readonly finished: Record<Outcome, number> = { installed: 0, rejected: 0, failed: 0, duplicate: 0 };
  private readonly rejections: Record<string, number> = {};
  private readonly failures: Record<string, number> = {};
  private verifiedBytes = 0;
  private verifiedFiles = 0;
  private readonly durations = new Map<Outcome, Histogram>(TIMED.map((o) => [o, { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }]));
  private eventClientsDropped = 0;
  readonly startTimeSeconds = Math.floor(Date.now() / 1000);

  constructor(private readonly version = 'unknown') {}

  /** One finished bundle: its outcome, its error code, what it verified and how long that took. */
  observe(f: FinishedBundle): void {
    this.finished[f.outcome]++;
    if (f.code !== undefined && f.outcome === 'rejected') this.rejections[f.code] = (this.rejections[f.code] ?? 0) + 1;
    if (f.code !== undefined && f.outcome === 'failed') this.failures[f.code] = (this.failures[f.code] ?? 0) + 1;
    this.verifiedBytes += f.bytesVerified ?? 0;
    this.verifiedFiles += f.filesVerified ?? 0;
    const h = this.durations.get(f.outcome);
    if (h && f.seconds !== undefined) {
      h.sum += f.seconds;
      h.count++;
      DURATION_BUCKETS.forEach((le, i) => {
        if (f.seconds! <= le) h.buckets[i]!++;
      });
    }
  }

  countEventClientDropped(): void {
    this.eventClientsDropped++;
  }

  snapshot(live: LiveValues): MetricsSnapshot {
    const duration: Record<string, Histogram> = {};
    for (const [o, h] of this.durations) duration[o] = { ...h, buckets: [...h.buckets] };
    return {
      version: this.version,
      bundlesFinished: { ...this.finished },
      rejections: { ...this.rejections },
      failures: { ...this.failures },
      verifiedBytes: this.verifiedBytes,
      verifiedFiles: this.verifiedFiles,
      duration,
      startTimeSeconds: this.startTimeSeconds,
      eventClientsDroppedTotal: this.eventClientsDropped,
      ...live,
    };
  }
}

/** A label value escaped as the exposition format wants (backslash, double quote, newline). */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(s: MetricsSnapshot): string {
  const out: string[] = [];
  const head = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const byLabel = (name: string, key: string, values: Record<string, number>) => {
    for (const [k, n] of Object.entries(values).sort(([a], [b]) => a.localeCompare(b))) out.push(`${name}{${key}="${label(k)}"} ${n}`);
  };

  head('airlock_build_info', 'gauge', 'Always 1; the version label says which airlock runs.');
  out.push(`airlock_build_info{version="${label(s.version)}"} 1`);
  head('airlock_start_time_seconds', 'gauge', 'When the daemon started, in Unix seconds.');
  out.push(`airlock_start_time_seconds ${s.startTimeSeconds}`);

  head('airlock_bundles_finished_total', 'counter', 'Bundles that reached a finished state since the daemon started, by outcome.');
  for (const o of OUTCOMES) out.push(`airlock_bundles_finished_total{outcome="${o}"} ${s.bundlesFinished[o] ?? 0}`);
  head('airlock_rejections_total', 'counter', 'Bundles rejected since the daemon started, by error code (the bundle was to blame).');
  byLabel('airlock_rejections_total', 'code', s.rejections);
  head('airlock_failures_total', 'counter', 'Bundles that failed since the daemon started, by error code (the host could not finish).');
  byLabel('airlock_failures_total', 'code', s.failures);
  head('airlock_verified_bytes_total', 'counter', 'Payload and image bytes read, hashed and matched against signed manifests by installs.');
  out.push(`airlock_verified_bytes_total ${s.verifiedBytes}`);
  head('airlock_verified_files_total', 'counter', 'Payload files and image archives read, hashed and matched against signed manifests by installs.');
  out.push(`airlock_verified_files_total ${s.verifiedFiles}`);

  head('airlock_verification_duration_seconds', 'histogram', 'Time from the start of verification to the outcome, by outcome.');
  for (const o of TIMED) {
    const h = s.duration[o] ?? { buckets: [], sum: 0, count: 0 };
    DURATION_BUCKETS.forEach((le, i) => out.push(`airlock_verification_duration_seconds_bucket{outcome="${o}",le="${le}"} ${h.buckets[i] ?? 0}`));
    out.push(`airlock_verification_duration_seconds_bucket{outcome="${o}",le="+Inf"} ${h.count}`);
    out.push(`airlock_verification_duration_seconds_sum{outcome="${o}"} ${h.sum}`);
    out.push(`airlock_verification_duration_seconds_count{outcome="${o}"} ${h.count}`);
  }

  head(
    'airlock_last_install_timestamp_seconds',
    'gauge',
    'When the newest deployment kept in the store for each model was installed, in Unix seconds.',
  );
  for (const m of s.lastInstall) out.push(`airlock_last_install_timestamp_seconds{model="${label(m.model)}"} ${m.seconds}`);
  head('airlock_current_sequence', 'gauge', 'Sequence of the current deployment per model and channel.');
  for (const c of s.currentSequence) out.push(`airlock_current_sequence{model="${label(c.model)}",channel="${label(c.channel)}"} ${c.sequence}`);
  head('airlock_bundle_records', 'gauge', 'Bundle records the daemon holds now, by state.');
  byLabel('airlock_bundle_records', 'state', s.bundleRecords);
  head('airlock_queue_length', 'gauge', 'Complete bundles waiting for verification.');
  out.push(`airlock_queue_length ${s.queueLength}`);
  if (s.storeFreeBytes !== undefined) {
    head('airlock_store_free_bytes', 'gauge', "Bytes free for the daemon on the store's file system.");
    out.push(`airlock_store_free_bytes ${s.storeFreeBytes}`);
  }
  head('airlock_event_clients', 'gauge', 'Clients following GET /v1/events (server-sent events) now.');
  out.push(`airlock_event_clients ${s.eventClients}`);
  head('airlock_event_clients_dropped_total', 'counter', 'Event-stream clients dropped for leaving more than limits.eventBufferBytes unread.');
  out.push(`airlock_event_clients_dropped_total ${s.eventClientsDroppedTotal}`);
  return out.join('\n') + '\n';
}
