// `gc`: remove content no kept deployment references, and leftovers of interrupted installs.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { listBlobs } from './content.js';
import { fsyncDir } from './durable.js';
import { readKeptManifest, referencedContent } from './kept-manifest.js';
import { acquireStoreLock } from './lock.js';
import { recoverStore, type RecoveryReport } from './recover.js';
import { readState } from './state-file.js';
import { keptDeployments } from './state.js';
import { assertStoreShape } from './store-dir.js';

export interface GcReport {
  removedBlobs: number;
  removedBytes: number;
  keptBlobs: number;
  keptBytes: number;
  recovery: RecoveryReport;
}

export async function gcStore(store: string): Promise<GcReport> {
  const abs = path.resolve(store);
  await assertStoreShape(abs, true);
  const lock = await acquireStoreLock(abs);
  try {
    const recovery = await recoverStore(abs);
    const state = await readState(abs);
    // Every kept manifest must be readable first: content is never removed on incomplete knowledge.
    const wanted = new Set<string>();
    for (const d of keptDeployments(state)) for (const h of referencedContent(d, await readKeptManifest(abs, d))) wanted.add(h);
    const report: GcReport = { removedBlobs: 0, removedBytes: 0, keptBlobs: 0, keptBytes: 0, recovery };
    const touched = new Set<string>();
    for await (const b of listBlobs(abs)) {
      // Entries that are not blobs are not airlock's to delete; checkStore reports them.
      if (b.problem !== undefined || wanted.has(b.sha256)) {
        if (b.problem === undefined) {
          report.keptBlobs++;
          report.keptBytes += b.size;
        }
        continue;
      }
      await fsp.rm(b.file, { force: true });
      touched.add(path.dirname(b.file));
      report.removedBlobs++;
      report.removedBytes += b.size;
    }
    for (const dir of touched) {
      if ((await fsp.readdir(dir)).length === 0) await fsp.rmdir(dir).catch(() => undefined);
      else await fsyncDir(dir);
    }
    if (touched.size > 0) await fsyncDir(path.dirname([...touched][0]!));
    return report;
  } finally {
    await lock.release();
  }
}
