// When is an arriving bundle complete? Pure: a function of the last probe, the previous state and the clock.
import type { StagingState } from '../spool/stager.js';
import type { PartsArrival } from './parts-arrival.js';
import type { Probe } from './probe.js';

export interface ArrivalProgress {
  bytesPresent: number;
  /** absent for a tar (its total is not known until it has been read) */
  bytesExpected?: number;
  /** a folder bundle verified while it arrives: bytes of listed files already copied and verified (src/spool/) */
  bytesVerified?: number;
  /** and how far that got (see StagingSummary) */
  staging?: StagingState;
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
 * Complete = everything listed is present at its size AND nothing changed for the quiet period (a file still
 * being written changes size or mtime between probes, which restarts the quiet period). A folder bundle that
 * is verified while it arrives needs no quiet period: each file waited its own settle time, and once every
 * listed file has a verified copy that still stands for it, the bundle is complete at once. While its files are
 * still being verified, the quiet period does not end it either.
 */
export function decideArrival(prev: ArrivalState | undefined, probe: Probe, now: number, quietPeriodMs: number): ArrivalDecision {
  if (probe.gone) return { kind: 'gone' };
  const progress: ArrivalProgress = {
    bytesPresent: probe.bytesPresent,
    ...(probe.bytesExpected === undefined ? {} : { bytesExpected: probe.bytesExpected }),
    ...(probe.staging ? { bytesVerified: probe.staging.bytesVerified, staging: probe.staging.state } : {}),
  };
  const changed = !prev || prev.fingerprint !== probe.fingerprint;
  // New content (even if identical to something handed on before) is handed on again once complete.
  const state: ArrivalState = changed || !prev ? { fingerprint: probe.fingerprint, stableSince: now } : prev;
  if (!changed && state.handedOff === probe.fingerprint) return { kind: 'unchanged', state };
  const complete = () => ({ kind: 'complete' as const, state: { ...state, handedOff: probe.fingerprint }, progress, fingerprint: probe.fingerprint });
  if (probe.complete && probe.staging?.state === 'staged') return complete();
  if (changed || probe.staging?.state === 'staging') return { kind: 'arriving', state, progress };
  if (probe.complete && now - state.stableSince >= quietPeriodMs) return complete();
  return { kind: 'arriving', state, progress };
}
