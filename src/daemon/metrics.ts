// Prometheus metrics: counters kept here, text exposition rendered by a pure function (format 0.0.4).

export const DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200];

export type Outcome = 'installed' | 'rejected' | 'failed' | 'skipped';

export interface MetricsSnapshot {
  bundlesTotal: Record<Outcome, number>;
  bytesVerifiedTotal: number;
  /** cumulative counts per bucket upper bound, plus sum and count */
  duration: { buckets: number[]; sum: number; count: number };
  currentSequence: Array<{ model: string; channel: string; sequence: number }>;
  bundlesByState: Record<string, number>;
  queueLength: number;
  startTimeSeconds: number;
  eventClients: number;
  eventClientsDroppedTotal: number;
}

export class Metrics {
  private readonly bundlesTotal: Record<Outcome, number> = { installed: 0, rejected: 0, failed: 0, skipped: 0 };
  private bytesVerified = 0;
  private readonly bucketCounts = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private durationCount = 0;
  private eventClientsDropped = 0;
  readonly startTimeSeconds = Math.floor(Date.now() / 1000);

  countOutcome(outcome: Outcome): void {
    this.bundlesTotal[outcome]++;
  }

  addBytesVerified(n: number): void {
    this.bytesVerified += n;
  }

  observeVerification(seconds: number): void {
    this.durationSum += seconds;
    this.durationCount++;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.bucketCounts[i]!++;
    });
  }

  countEventClientDropped(): void {
    this.eventClientsDropped++;
  }

  snapshot(extra: Pick<MetricsSnapshot, 'currentSequence' | 'bundlesByState' | 'queueLength' | 'eventClients'>): MetricsSnapshot {
    return {
      eventClientsDroppedTotal: this.eventClientsDropped,
      bundlesTotal: { ...this.bundlesTotal },
      bytesVerifiedTotal: this.bytesVerified,
      duration: { buckets: [...this.bucketCounts], sum: this.durationSum, count: this.durationCount },
      startTimeSeconds: this.startTimeSeconds,
      ...extra,
    };
  }
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(s: MetricsSnapshot): string {
  const out: string[] = [];
  const head = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  head('airlock_bundles_total', 'counter', 'Bundles finished by outcome since the daemon started.');
  for (const [outcome, n] of Object.entries(s.bundlesTotal)) out.push(`airlock_bundles_total{outcome="${outcome}"} ${n}`);
  head('airlock_bytes_verified_total', 'counter', 'Bundle bytes hashed and verified since the daemon started.');
  out.push(`airlock_bytes_verified_total ${s.bytesVerifiedTotal}`);
  head('airlock_verification_duration_seconds', 'histogram', 'Time from the start of verification to install or rejection.');
  DURATION_BUCKETS.forEach((le, i) => out.push(`airlock_verification_duration_seconds_bucket{le="${le}"} ${s.duration.buckets[i] ?? 0}`));
  out.push(`airlock_verification_duration_seconds_bucket{le="+Inf"} ${s.duration.count}`);
  out.push(`airlock_verification_duration_seconds_sum ${s.duration.sum}`);
  out.push(`airlock_verification_duration_seconds_count ${s.duration.count}`);
  head('airlock_current_sequence', 'gauge', 'Sequence of the current deployment per model and channel.');
  for (const c of s.currentSequence) out.push(`airlock_current_sequence{model="${label(c.model)}",channel="${label(c.channel)}"} ${c.sequence}`);
  head('airlock_bundles', 'gauge', 'Bundle records the daemon holds, by state.');
  for (const [state, n] of Object.entries(s.bundlesByState)) out.push(`airlock_bundles{state="${label(state)}"} ${n}`);
  head('airlock_queue_length', 'gauge', 'Complete bundles waiting for verification.');
  out.push(`airlock_queue_length ${s.queueLength}`);
  head('airlock_event_clients', 'gauge', 'Clients following GET /v1/events now.');
  out.push(`airlock_event_clients ${s.eventClients}`);
  head('airlock_event_clients_dropped_total', 'counter', 'Event-stream clients dropped for leaving more than limits.eventBufferBytes unread.');
  out.push(`airlock_event_clients_dropped_total ${s.eventClientsDroppedTotal}`);
  head('airlock_start_time_seconds', 'gauge', 'When the daemon started (Unix time).');
  out.push(`airlock_start_time_seconds ${s.startTimeSeconds}`);
  return out.join('\n') + '\n';
}
