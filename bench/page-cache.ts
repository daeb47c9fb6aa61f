// How much of a command's input sits in the page cache before it runs (util-linux fincore), so
// "warm" in the table is a measurement rather than a guess. Reads only; needs no privileges.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const FINCORE = '/usr/bin/fincore';
export const HAVE_FINCORE = existsSync(FINCORE);
/** Keep each command line well under ARG_MAX however many files there are. */
const BATCH = 200;

/** Resident bytes / total bytes over `files`, or undefined when fincore is missing or fails. */
export async function residentFraction(files: string[]): Promise<number | undefined> {
  if (!HAVE_FINCORE || files.length === 0) return undefined;
  let resident = 0;
  let total = 0;
  try {
    for (let i = 0; i < files.length; i += BATCH) {
      const { stdout } = await run(FINCORE, ['--bytes', '--noheadings', '--raw', '--output', 'RES,SIZE', '--', ...files.slice(i, i + BATCH)], {
        maxBuffer: 4 * 1024 * 1024,
      });
      for (const line of stdout.trim().split('\n')) {
        const [res, size] = line.trim().split(/\s+/).map(Number);
        if (res === undefined || size === undefined || Number.isNaN(res) || Number.isNaN(size)) continue;
        resident += res;
        total += size;
      }
    }
  } catch {
    return undefined;
  }
  return total === 0 ? undefined : Math.min(1, resident / total);
}
