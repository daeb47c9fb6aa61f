// When is an arriving bundle complete? Pure: a function of the last probe, the previous state and the clock.
import type { PartsArrival } from './parts-arrival.js';
import type { Probe } from './probe.js';

export interface ArrivalProgress {
  bytesPresent: number;
  /** absent for a tar (its total is not known until it has been read) */
  bytesExpected?: number;
  /** a split bundle spooled part by part from several sticks (src/spool/) */
  parts?: PartsArrival;
}

export interface ArrivalState {
  fingerprint: string;
  /** when the fingerprint last changed (ms since epoch) */
  stableSince: number;
  /** the fingerprint last handed on for verification, so the same content is handed on once */
  handedOff?: string;
}

export type ArrivalDecision =
  | { kind: 'gone' }
  | { kind: 'arriving'; state: ArrivalState; progress: ArrivalProgress }
  | { kind: 'complete'; state: ArrivalState; progress: ArrivalProgress; fingerprint: string }
  | { kind: 'unchanged'; state: ArrivalState };

/**
 * Complete = everything listed is present at its size AND nothing changed for the quiet period.
 * A file still being written changes size or mtime between probes, which restarts the quiet period.
 */
export function decideArrival(prev: ArrivalState | undefined, probe: Probe, now: number, quietPeriodMs: number): ArrivalDecision {
  if (probe.gone) return { kind: 'gone' };
  const progress: ArrivalProgress = {
    bytesPresent: probe.bytesPresent,
    ...(probe.bytesExpected === undefined ? {} : { bytesExpected: probe.bytesExpected }),
  };
  if (!prev || prev.fingerprint !== probe.fingerprint) {
    // New content (even if identical to something handed on before) is handed on again once quiet.
    return { kind: 'arriving', state: { fingerprint: probe.fingerprint, stableSince: now }, progress };
  }
  if (prev.handedOff === probe.fingerprint) return { kind: 'unchanged', state: prev };
  if (probe.complete && now - prev.stableSince >= quietPeriodMs) {
    return { kind: 'complete', state: { ...prev, handedOff: probe.fingerprint }, progress, fingerprint: probe.fingerprint };
  }
  return { kind: 'arriving', state: prev, progress };
}
