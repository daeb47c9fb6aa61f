// The time a decision is made at (a bundle's expiry, a key's validity window, the times written into the store
// and the daemon's records) comes from a clock passed in, so one process agrees on one "now" and a test can set
// it. Durations and rates are measurements, not decisions: they read Date.now() where they are taken.
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
