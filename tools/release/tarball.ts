// The tarball: GNU tar and gzip, reproducibly (sorted names, one mtime, owner root, no gzip name or time),
// so two builds of the same commit on the same machine give the same bytes.
import path from 'node:path';
import { runTool } from './run-tool.js';

export async function writeTarball(tree: string, outFile: string, epoch: number): Promise<void> {
  await runTool(
    'tar',
    [
      '--create',
      `--file=${outFile}`,
      // gzip -n: no file name or time in its header; the default level is within 1% of -9 here, at a third of the time.
      '--use-compress-program=gzip -n',
      '--format=gnu',
      '--sort=name',
      `--mtime=@${epoch}`,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      `--directory=${path.dirname(tree)}`,
      path.basename(tree),
    ],
    { providedBy: 'tar' },
  );
}
