// What the table may honestly say about the page cache. Pure: measurements come in as arguments.

export type CacheState = 'warm' | 'partly warm' | 'cold';

export interface CacheStatement {
  state: CacheState;
  note: string;
  /** fincore's view of the inputs just before each command, when it ran */
  residency?: { minPct: number; medianPct: number };
}

const GiB = 1024 ** 3;
/** Source, three reference bundles and one run's output live on disk (and in the page cache) at once. */
const WORKING_SET_FACTOR = 5;
/** Below this share of input resident before some run, "warm" would overstate it. */
const WARM_MIN_PCT = 95;

export function cacheStatement(
  cold: boolean,
  size: number,
  totalMem: number,
  residency: { minPct: number; medianPct: number } | undefined,
): CacheStatement {
  if (cold) {
    return {
      state: 'cold',
      note: 'cold: page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every command',
      ...(residency ? { residency } : {}),
    };
  }
  const set = WORKING_SET_FACTOR * size;
  const sizes = `working set ≈ ${(set / GiB).toFixed(1)} GiB, RAM ${(totalMem / GiB).toFixed(1)} GiB`;
  if (residency) {
    const measured = `fincore: ${residency.minPct}% of a command's input was in the page cache at worst, ${residency.medianPct}% in the median run; ${sizes}`;
    return residency.minPct >= WARM_MIN_PCT
      ? { state: 'warm', note: `warm (${measured})`, residency }
      : { state: 'partly warm', note: `partly warm: some reads came from the disk (${measured})`, residency };
  }
  if (set < 0.8 * totalMem)
    return { state: 'warm', note: `warm (not measured: every input was written or read just before and fits in RAM; ${sizes})` };
  return { state: 'partly warm', note: `partly warm (not measured: the data does not all fit in RAM; ${sizes})` };
}
