// Registry mode (issue 15): publish and pull of the benchmark bundle through a real CNCF Distribution 2.8 on
// loopback, side by side with the standard tools on the same data: `skopeo copy` of the same artifact from an
// OCI layout (publish's baseline), and `curl` of the same blobs (pull-and-install's baseline; once more with a
// sync, since airlock's install is durable). Each round starts from empty registries; a second publish of the
// unchanged bundle must upload no payload byte (read from its --json report).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { airlockArgv, childEnv } from './airlock-child.js';
import type { CaseRuns } from './files-mode.js';
import { syncDisks } from './files-mode.js';
import { LAYOUT_TAG, writeOciLayout } from './oci-layout.js';
import { residentFraction } from './page-cache.js';
import { CURL_BIN, SKOPEO_BIN, startBenchRegistry, type BenchRegistry } from './registry-server.js';
import { runTimed, type Invocation, type TimedRun } from './run-timed.js';
import type { Workspace } from './workspace.js';

export const REGISTRY_CASES = [
  { id: 'publish', label: 'airlock publish', kind: 'airlock' },
  { id: 'publish-again', label: 'airlock publish (unchanged)', kind: 'airlock' },
  { id: 'skopeo-copy', label: 'skopeo copy oci: → registry', kind: 'baseline' },
  { id: 'pull-install', label: 'airlock install --registry', kind: 'airlock' },
  { id: 'curl-blobs', label: 'curl the blobs', kind: 'baseline' },
  { id: 'curl-blobs-sync', label: 'curl the blobs && sync', kind: 'baseline' },
] as const;

export type RegistryCaseId = (typeof REGISTRY_CASES)[number]['id'];

export interface RegistryModeResult {
  runs: CaseRuns[];
  /** payload bytes each unchanged second publish uploaded (from its --json report) */
  republishBytes: number[];
}

const REPO = 'bench/model';

export async function runRegistryMode(ws: Workspace, opts: { runs: number; log: (m: string) => void }): Promise<RegistryModeResult> {
  const results = new Map<RegistryCaseId, CaseRuns>(REGISTRY_CASES.map((c) => [c.id, { id: c.id, label: c.label, kind: c.kind, runs: [] }]));
  const layout = path.join(ws.root, 'oci-layout');
  opts.log('writing the OCI layout skopeo copies (hard links to the bundle); not timed');
  await writeOciLayout(ws.dirBundle, layout);
  const manifest = JSON.parse(await fsp.readFile(path.join(ws.dirBundle, 'airlock.json'), 'utf8')) as {
    files: Array<{ sha256?: string; type?: string }>;
  };
  const digests = [...new Set(manifest.files.filter((f) => f.type !== 'symlink' && f.sha256).map((f) => f.sha256!))];
  const payload = ws.payloadFiles.map((f) => path.join(ws.dirBundle, f));
  const republishBytes: number[] = [];

  for (let round = 1; round <= opts.runs; round++) {
    const scratch = path.join(ws.scratch, `registry-${round}`);
    await fsp.mkdir(scratch, { recursive: true });
    const timed = async (id: RegistryCaseId, inv: Invocation, inputs: string[]): Promise<TimedRun> => {
      const cached = await residentFraction(inputs);
      const run = await runTimed(inv, path.join(ws.root, 'rss.txt'));
      if (cached !== undefined) run.inputCached = cached;
      results.get(id)!.runs.push(run);
      opts.log(
        `round ${round}/${opts.runs}  ${results.get(id)!.label.padEnd(30)} ${(run.ms / 1000).toFixed(2)} s${run.exitCode === 0 ? '' : `  FAILED (exit ${run.exitCode}): ${(run.errorTail ?? '').split('\n')[0]}`}`,
      );
      await syncDisks();
      return run;
    };
    let a: BenchRegistry | undefined;
    let b: BenchRegistry | undefined;
    try {
      a = await startBenchRegistry(path.join(ws.root, 'registry-a'));
      const blobsOf = (storage: string) => digests.map((d) => path.join(storage, 'docker/registry/v2/blobs/sha256', d.slice(0, 2), d, 'data'));
      const publish = (out: string): Invocation => ({
        argv: airlockArgv([
          'publish',
          ws.dirBundle,
          '--to',
          `${a!.url}/${REPO}`,
          '--trust',
          ws.allowedSigners,
          '--json',
          '--resume-dir',
          path.join(scratch, 'uploads'),
        ]),
        env: childEnv(),
        stdoutFile: out,
      });
      await timed('publish', publish(path.join(scratch, 'publish.json')), payload);
      const again = await timed('publish-again', publish(path.join(scratch, 'again.json')), payload);
      if (again.exitCode === 0) {
        const report = JSON.parse(await fsp.readFile(path.join(scratch, 'again.json'), 'utf8')) as { payload: { bytesUploaded: number } };
        republishBytes.push(report.payload.bytesUploaded);
      }
      const served = blobsOf(path.join(ws.root, 'registry-a', 'storage'));
      await timed(
        'pull-install',
        {
          argv: airlockArgv([
            'install',
            '--registry',
            `${a.url}/${REPO}:stable-1`,
            '--store',
            path.join(scratch, 'store'),
            '--trust',
            ws.allowedSigners,
          ]),
          env: childEnv(),
        },
        served,
      );
      for (const [id, sync] of [
        ['curl-blobs', false],
        ['curl-blobs-sync', true],
      ] as const) {
        const out = path.join(scratch, id);
        await fsp.mkdir(out);
        const args = digests.flatMap((d, i) => ['-o', path.join(out, String(i)), `${a!.url}/v2/${REPO}/blobs/sha256:${d}`]);
        const curl = [CURL_BIN, '-sSf', ...args];
        await timed(id, sync ? { argv: ['sh', '-c', '"$@" && exec sync -f "$0"', out, ...curl] } : { argv: curl }, served);
        await fsp.rm(out, { recursive: true, force: true });
      }
      await a.stop();
      a = undefined;
      b = await startBenchRegistry(path.join(ws.root, 'registry-b'));
      await timed(
        'skopeo-copy',
        {
          argv: [
            SKOPEO_BIN,
            'copy',
            '--quiet',
            '--preserve-digests',
            '--dest-tls-verify=false',
            `oci:${layout}:${LAYOUT_TAG}`,
            `docker://${b.host}/${REPO}:stable-1`,
          ],
        },
        payload,
      );
    } finally {
      await a?.stop();
      await b?.stop();
      await fsp.rm(scratch, { recursive: true, force: true });
    }
  }
  return { runs: [...results.values()], republishBytes };
}
