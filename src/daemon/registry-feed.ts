// The daemon's registry subscriptions (config `registries`): each looks at its repository's tags every
// pollSeconds, takes the highest CHANNEL-SEQUENCE tag, resolves it to a digest and hands the bundle to the
// pipeline as a registry source, the same way a complete drop is handed on. What the artifact holds is judged
// there (trust, expiry and rollback protection before any payload blob). A registry that fails is looked at
// again later and later (up to 10 minutes), and a bundle whose install failed for the host's or the registry's
// sake (REGISTRY_UNREACHABLE, say) is retried then; the daemon serves on meanwhile. The only hosts contacted
// are the configured registries (and their extraHosts).
import { createHash } from 'node:crypto';
import { registryRef } from '../bundle/registry-source.js';
import type { RegistrySubscription } from '../config/defaults.js';
import type { RegistryView } from '../api/context.js';
import { toAirlockError } from '../errors.js';
import { outcomeForError } from '../pipeline/decisions.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { RegistryClient } from '../registry/client.js';
import { OCI_MANIFEST, SIGNATURES_ARTIFACT } from '../registry/media-types.js';
import { describeTarget, parseRegistryUrl } from '../registry/reference.js';
import { latestTag, nextPollSeconds } from '../registry/tags.js';
import type { Loggers } from './logger.js';

interface Subscription {
  config: RegistrySubscription;
  view: RegistryView;
  /** looks in a row that failed (the wait before the next one doubles) */
  failures: number;
  /** retries of the current bundle after failed installs, and when the next one is due */
  retries: number;
  retryAt?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

export class RegistryFeed {
  private readonly subs: Subscription[];
  private stopped = false;

  constructor(
    configs: RegistrySubscription[],
    private readonly pipeline: Pick<Pipeline, 'offer' | 'get' | 'retry'>,
    private readonly log: Loggers['log'],
  ) {
    this.subs = configs.map((config) => ({
      config,
      failures: 0,
      retries: 0,
      view: { url: parseRegistryUrl(config.url).origin, repository: config.repository, channel: config.channel, pollSeconds: config.pollSeconds },
    }));
  }

  start(): void {
    for (const s of this.subs) {
      this.log.info({ registry: s.view.url, repository: s.config.repository, channel: s.config.channel }, 'following a registry repository');
      this.schedule(s, 0);
    }
  }

  views(): RegistryView[] {
    return this.subs.map((s) => ({ ...s.view }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.subs) clearTimeout(s.timer);
    await Promise.allSettled(this.subs.flatMap((s) => (s.running ? [s.running] : [])));
  }

  private schedule(s: Subscription, seconds: number): void {
    if (this.stopped) return;
    s.view.nextPollAt = new Date(Date.now() + seconds * 1000).toISOString();
    s.timer = setTimeout(() => {
      s.running = this.look(s).finally(() => (s.running = undefined));
    }, seconds * 1000);
    s.timer.unref();
  }

  private async look(s: Subscription): Promise<void> {
    const c = s.config;
    s.view.lastPollAt = new Date().toISOString();
    let ok = false;
    try {
      await this.poll(s);
      ok = true;
      delete s.view.error;
      s.view.lastSuccessAt = s.view.lastPollAt;
    } catch (err) {
      const e = toAirlockError(err);
      s.view.error = { code: e.code, message: e.message };
      // The message names the registry and what went wrong, never a credential (those stay in their files).
      this.log.warn({ registry: s.view.url, repository: c.repository, code: e.code, message: e.message }, 'registry poll failed; trying again later');
    }
    s.failures = ok ? 0 : s.failures + 1;
    this.schedule(s, nextPollSeconds(c.pollSeconds, s.failures));
  }

  /** One look at the repository: the newest bundle of the channel offered to the pipeline. */
  private async poll(s: Subscription): Promise<void> {
    const c = s.config;
    const registry = parseRegistryUrl(c.url);
    const client = await RegistryClient.create({
      registry,
      ...(c.caFile ? { caFile: c.caFile } : {}),
      ...(c.auth ? { auth: c.auth } : {}),
      ...(c.extraHosts ? { extraHosts: c.extraHosts } : {}),
    });
    try {
      const latest = latestTag(await client.tags(c.repository), c.channel);
      if (!latest) return;
      const digest = await client.resolve(c.repository, latest.tag, [OCI_MANIFEST]);
      if (digest === undefined) return; // deleted since the listing: the next look sees what is there
      // Signatures attached later (a countersignature) make it new content: it is judged again.
      const { descriptors } = await client.referrers(c.repository, digest, SIGNATURES_ARTIFACT);
      const fingerprint = createHash('sha256')
        .update([digest, ...descriptors.map((d) => d.digest).sort()].join('\n'))
        .digest('hex');
      const source = registryRef({
        url: registry.origin,
        repository: c.repository,
        digest,
        tag: latest.tag,
        channel: c.channel,
        ...(c.name ? { name: c.name } : {}),
        ...(c.caFile ? { caFile: c.caFile } : {}),
        ...(c.auth?.basicFile ? { basicFile: c.auth.basicFile } : {}),
        ...(c.auth?.bearerTokenFile ? { bearerTokenFile: c.auth.bearerTokenFile } : {}),
        ...(c.extraHosts ? { extraHosts: c.extraHosts } : {}),
      });
      const id = this.pipeline.offer({ source, location: describeTarget(registry, c.repository, latest.tag), form: 'registry', fingerprint });
      Object.assign(s.view, { tag: latest.tag, digest, recordId: id });
      this.retryIfFailed(s, id, fingerprint);
    } finally {
      client.close();
    }
  }

  /**
   * A bundle whose install failed for the host's or the registry's sake is tried again, later each time (a
   * rejected bundle is not: it is what it is; nor one whose container failed: that would undo a rollback).
   */
  private retryIfFailed(s: Subscription, id: string, fingerprint: string): void {
    const rec = this.pipeline.get(id);
    if (rec?.state !== 'failed' || rec.fingerprint !== fingerprint || !rec.error || outcomeForError(rec.error.code) !== 'failed') {
      s.retries = 0;
      delete s.retryAt;
      return;
    }
    const now = Date.now();
    if (s.retryAt === undefined) {
      s.retryAt = now + nextPollSeconds(s.config.pollSeconds, s.retries + 1) * 1000;
      return;
    }
    if (now < s.retryAt) return;
    s.retries++;
    delete s.retryAt;
    this.log.info(
      { recordId: id, code: rec.error.code, registry: s.view.url, repository: s.config.repository },
      'retrying a registry bundle that failed',
    );
    this.pipeline.retry(id, 'registry');
  }
}
