// Turns file-system events into bundle arrivals: discovers candidates, probes them until they are
// complete and quiet, and reports progress. The pipeline only ever sees ArrivalEvents.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_NAME, partsSignaturesName } from '../format/layout.js';
import { decideArrival, type ArrivalProgress, type ArrivalState } from './arrival.js';
import { candidateForFile, indexForPart, isWithin, type Candidate } from './candidates.js';
import type { FsEvent, FsEventSource, WatchRoot } from './fs-events.js';
import { probeCandidate, type Probe } from './probe.js';

export type ArrivalEvent =
  | { type: 'arriving'; candidate: Candidate; progress: ArrivalProgress }
  | { type: 'complete'; candidate: Candidate; progress: ArrivalProgress; fingerprint: string }
  | { type: 'gone'; candidate: Candidate };

/** What the pipeline consumes: bundles arriving, complete, or gone. */
export interface ArrivalSource {
  start(listener: (e: ArrivalEvent) => void): Promise<void>;
  /** Content at `location` with this fingerprint was already dealt with (before a restart): do not report it again. */
  remember(location: string, fingerprint: string): void;
  close(): Promise<void>;
}

export interface ArrivalTrackerOptions {
  roots: WatchRoot[];
  quietPeriodMs: number;
  /** a folder bundle verified while it arrives judges each file after this settle time: probe often enough for it */
  settleMs?: number;
  source: FsEventSource;
  onWatchError?: (err: Error, root: WatchRoot) => void;
  /** `handedOff`: the fingerprint of content already handed on, which needs no work while it stays the same */
  probe?: (c: Candidate, handedOff?: string) => Promise<Probe>;
  now?: () => number;
}

interface Tracked {
  candidate: Candidate;
  state?: ArrivalState;
  lastProgress?: string;
  /** probe again at or after this time; undefined = only when poked by an event */
  dueAt: number | undefined;
}

export class ArrivalTracker implements ArrivalSource {
  private readonly tracked = new Map<string, Tracked>();
  private readonly known = new Map<string, string>();
  private listener: (e: ArrivalEvent) => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly tickMs: number;
  private readonly now: () => number;
  private readonly probe: (c: Candidate, handedOff?: string) => Promise<Probe>;

  constructor(private readonly opts: ArrivalTrackerOptions) {
    // Probe a few times per quiet period (and twice per settle time), but not more than 20 times a second.
    const wait = Math.min(opts.quietPeriodMs / 4, opts.settleMs === undefined ? Infinity : opts.settleMs / 2);
    this.tickMs = Math.min(1000, Math.max(50, Math.floor(wait)));
    this.now = opts.now ?? Date.now;
    this.probe = opts.probe ?? ((c) => probeCandidate(c));
  }

  async start(listener: (e: ArrivalEvent) => void): Promise<void> {
    this.listener = listener;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    await this.opts.source.start(
      this.opts.roots,
      (e) => void this.onFsEvent(e),
      (err, root) => this.opts.onWatchError?.(err, root),
    );
  }

  /** Start watching a root that appeared after start-up. */
  async addRoot(root: WatchRoot): Promise<void> {
    if (!this.closed) await this.opts.source.add(root);
  }

  remember(location: string, fingerprint: string): void {
    this.known.set(location, fingerprint);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.opts.source.close();
  }

  /** Locations currently tracked (for tests and status). */
  locations(): string[] {
    return [...this.tracked.keys()];
  }

  private async onFsEvent(e: FsEvent): Promise<void> {
    if (this.closed) return;
    if (e.type === 'add' || e.type === 'change') {
      const c = candidateForFile(e.root.path, e.path, e.root.media);
      if (c && !this.tracked.has(c.location) && !(await this.insideAnotherBundle(c))) this.track(c);
    }
    this.poke(e.path);
  }

  private track(c: Candidate): void {
    // A folder bundle contains everything below it: a tar or airlock.json inside its payload is payload.
    if (c.form === 'dir') for (const loc of [...this.tracked.keys()]) if (loc !== c.location && isWithin(c.location, loc)) this.tracked.delete(loc);
    const known = this.known.get(c.location);
    const state = known === undefined ? undefined : { fingerprint: known, stableSince: 0, handedOff: known };
    this.tracked.set(c.location, { candidate: c, dueAt: this.now(), ...(state ? { state, lastProgress: 'complete' } : {}) });
  }

  private async insideAnotherBundle(c: Candidate): Promise<boolean> {
    for (const t of this.tracked.values())
      if (t.candidate.form === 'dir' && t.candidate.location !== c.location && isWithin(t.candidate.location, c.location)) return true;
    // Events may come in any order: an ancestor folder may hold an airlock.json not reported yet.
    let dir = path.dirname(c.location);
    while (dir !== c.root && isWithin(c.root, dir)) {
      if (await exists(path.join(dir, MANIFEST_NAME))) return true;
      dir = path.dirname(dir);
    }
    return false;
  }

  /** An event at `p` may concern a tracked bundle: probe it at the next tick. */
  private poke(p: string): void {
    const index = indexForPart(p);
    for (const t of this.tracked.values()) {
      const loc = t.candidate.location;
      const partsSignatures = partsSignaturesOf(t.candidate);
      if (
        isWithin(loc, p) ||
        isWithin(p, loc) ||
        index === loc ||
        isWithin(sidecarOf(t.candidate), p) ||
        (partsSignatures !== undefined && isWithin(partsSignatures, p))
      )
        t.dueAt = this.now();
    }
  }

  private async tick(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      const now = this.now();
      for (const t of [...this.tracked.values()]) {
        if (t.dueAt === undefined || t.dueAt > now || this.closed) continue;
        await this.probeOne(t);
      }
    } finally {
      this.probing = false;
    }
  }

  private async probeOne(t: Tracked): Promise<void> {
    const started = this.now();
    const probe = await this.probe(t.candidate, t.state?.handedOff);
    const now = this.now();
    const d = decideArrival(t.state, probe, now, this.opts.quietPeriodMs);
    // A slow probe (a huge folder bundle) is spaced out so probing never dominates; judging its signatures once
    // or starting copies (work done with the look, not the look itself) does not count.
    const next = now + Math.max(this.tickMs, 2 * (probe.costMs ?? now - started));
    if (this.tracked.get(t.candidate.location) !== t) return;
    switch (d.kind) {
      case 'gone':
        this.tracked.delete(t.candidate.location);
        this.listener({ type: 'gone', candidate: t.candidate });
        return;
      case 'unchanged':
        t.dueAt = undefined;
        return;
      case 'arriving': {
        t.state = d.state;
        t.dueAt = next;
        const key = JSON.stringify(d.progress);
        if (key !== t.lastProgress) {
          t.lastProgress = key;
          this.listener({ type: 'arriving', candidate: t.candidate, progress: d.progress });
        }
        return;
      }
      case 'complete':
        t.state = d.state;
        // Any later change is a new arrival and is reported even if its byte counts look the same.
        t.lastProgress = 'complete';
        t.dueAt = undefined;
        this.listener({ type: 'complete', candidate: t.candidate, progress: d.progress, fingerprint: d.fingerprint });
        return;
    }
  }
}

function sidecarOf(c: Candidate): string {
  const m = /^(.+)\.airlock\.(?:tar|parts\.json)$/.exec(c.location);
  return m ? `${m[1]}.airlock.signatures` : `${c.location}/signatures`;
}

/** A split bundle's parts index signatures folder: a signature added there changes the bundle. */
function partsSignaturesOf(c: Candidate): string | undefined {
  return c.form === 'split' ? path.join(path.dirname(c.location), partsSignaturesName(path.basename(c.location))) : undefined;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
