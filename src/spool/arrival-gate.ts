// Between the arrival tracker and the pipeline: split bundles are the parts spool's to decide. A parts index whose
// signatures the spool trusts (or refuses) is the spool's alone: what the tracker says about it is dropped. An
// unsigned or unreadable index goes the whole-folder way, as before signed indexes: its events pass. Until the
// spool has read an index, the tracker's latest word on it is held, and passed on if the spool lets it go.
import type { ArrivalEvent } from '../watcher/arrival-tracker.js';

export type Claim = 'spool' | 'legacy' | undefined;

/** Held events at most; a drop flood beyond it loses its oldest held event (the tracker reports changes again). */
const MAX_HELD = 4096;

export class ArrivalGate {
  private readonly held = new Map<string, ArrivalEvent>();
  private readonly passed = new Set<string>();

  constructor(
    private readonly forward: (e: ArrivalEvent) => void,
    private readonly claimOf: (location: string) => Claim,
  ) {}

  handle(e: ArrivalEvent): void {
    const loc = e.candidate.location;
    if (e.candidate.form !== 'split') return this.forward(e);
    const claim = this.claimOf(loc);
    if (claim === 'legacy') {
      this.pass(loc);
      return this.forward(e);
    }
    if (claim === 'spool') return;
    if (e.type === 'gone') {
      this.held.delete(loc);
      if (this.passed.delete(loc)) this.forward(e);
      return;
    }
    this.held.delete(loc);
    if (this.held.size >= MAX_HELD) this.held.delete(this.held.keys().next().value!);
    this.held.set(loc, e);
  }

  private pass(location: string): void {
    if (this.passed.size >= MAX_HELD) this.passed.delete(this.passed.values().next().value!);
    this.passed.add(location);
  }

  /** The spool decided about the index at `location`. */
  decided(location: string, claim: Exclude<Claim, undefined>): void {
    const e = this.held.get(location);
    this.held.delete(location);
    if (claim === 'legacy') {
      this.pass(location);
      if (e) this.forward(e);
      return;
    }
    // Taken over after it had gone the whole-folder way (its signatures came late): that record is withdrawn.
    if (this.passed.delete(location) && e?.type !== 'gone') this.forward({ type: 'gone', candidate: e?.candidate ?? candidateAt(location) });
  }
}

function candidateAt(location: string): ArrivalEvent['candidate'] {
  return { form: 'split', location, root: '', media: false };
}
