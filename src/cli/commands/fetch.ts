// airlock fetch: the connected side's NIM download, through the NIM image itself (the guide's docker run lines).
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AirlockError, isAirlockError } from '../../errors.js';
import { CREDENTIAL_ENV_NAMES, planFetch, type FetchMode } from '../../runtime/fetch-plan.js';
import { dockerRuntime } from '../../runtime/index.js';
import { defineCommand, writeJson, type CliIO, type ParsedArgs } from '../command.js';
import { DOCKER_ENVIRONMENT, JSON_OPTION, QUIET_OPTION } from '../common-options.js';
import { writableOutput } from '../store-access.js';
import { sayFor } from '../terminal.js';

export const spec = defineCommand({
  name: 'fetch',
  summary: 'download NIM model profiles into a cache (connected side), through the NIM image',
  synopsis: ['--image REF (--profile ID... | --all | --list) [--cache DIR] [--model-store DIR] [--ca-file PEM] [--gpus all|none] [--json] [--quiet]'],
  description: [
    "Runs the NIM image's download-to-cache (and create-model-store -p ID -m /model-repo with --model-store, which needs exactly one --profile) in a container, as NVIDIA's air-gap guide does: DIR mounted at /opt/nim/.cache, NGC_API_KEY / HF_TOKEN taken from the environment, HTTP_PROXY, HTTPS_PROXY and NO_PROXY passed on, the --ca-file mounted read-only at /opt/nim/proxy-ca.pem with SSL_CERT_FILE pointing at it. The container runs as your uid:gid and is removed afterwards.",
    'The image must already be in the local engine (docker login nvcr.io; docker pull REF). NIM inspects the GPUs to pick profiles, so --gpus defaults to all; on a connected host without an NVIDIA runtime (GPU_UNAVAILABLE), pass --gpus none and name the profiles.',
    "The container's own output streams to stdout (to stderr with --json; kept back with --quiet and shown only when the step fails).",
  ],
  positionals: [],
  options: [
    {
      flag: '--image',
      value: 'REF',
      required: true,
      complete: 'none',
      description: 'the NIM image, e.g. nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3',
    },
    { flag: '--profile', value: 'ID', repeatable: true, complete: 'none', description: 'download this profile (an id from --list)' },
    { flag: '--all', description: 'download every profile the image offers' },
    { flag: '--list', description: "show the image's list-model-profiles output instead of downloading" },
    { flag: '--cache', value: 'DIR', complete: 'dir', description: 'the NIM cache to download into (created when missing); required unless --list' },
    {
      flag: '--model-store',
      value: 'DIR',
      complete: 'dir',
      description: 'also build a model store here from the one --profile (create-model-store), for pack --kind model-store',
    },
    {
      flag: '--ca-file',
      value: 'PEM',
      complete: 'file',
      description: 'a CA bundle for a TLS-intercepting proxy, mounted read-only into the container',
    },
    { flag: '--gpus', value: 'WHICH', choices: ['all', 'none'], description: 'the GPUs the container gets (default all)' },
    JSON_OPTION,
    QUIET_OPTION,
  ],
  jsonSchema: 'fetch-report',
  environment: [
    ...DOCKER_ENVIRONMENT,
    { name: 'NGC_API_KEY, HF_TOKEN', description: 'credentials for the download, passed to the container (never to a deployed one)' },
    { name: 'HTTP_PROXY, HTTPS_PROXY, NO_PROXY', description: 'passed to the container as they are' },
  ],
  seeAlso: ['pack'],
});

type Values = ParsedArgs<typeof spec>['values'];

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const image = values.image;
  const mode = fetchMode(values.profile, values.all, values.list);
  const gpus = values.gpus ?? 'all';
  const resolve = (p: string | undefined) => (p === undefined ? undefined : path.resolve(io.cwd, p));
  if (!('list' in mode) && values.cache === undefined)
    throw new AirlockError('USAGE', 'missing --cache DIR (needed unless --list)', { path: '--cache' });
  const cacheDir = resolve(values.cache);
  const modelStoreDir = resolve(values['model-store']);
  if (modelStoreDir !== undefined && !('profiles' in mode && mode.profiles.length === 1)) {
    throw new AirlockError('USAGE', '--model-store needs exactly one --profile (create-model-store takes one)', { path: '--model-store' });
  }
  const caFile = resolve(values['ca-file']);
  if (caFile !== undefined) await requireReadableFile(caFile);
  // Like `mkdir -p "$LOCAL_NIM_CACHE"` in the guide: a missing bind source would be an error.
  for (const dir of [cacheDir, modelStoreDir]) if (dir !== undefined) await writableOutput(dir, () => mkdir(dir, { recursive: true }));

  const runtime = await dockerRuntime(io.env);
  if ((await runtime.imageId(image)) === undefined) {
    throw new AirlockError('IMAGE_MISSING', `image ${image} is not in the local engine; pull it first (docker login nvcr.io; docker pull ${image})`);
  }
  if (!('list' in mode) && !CREDENTIAL_ENV_NAMES.some((n) => io.env[n])) {
    io.stderr.write('airlock: warning: neither NGC_API_KEY nor HF_TOKEN is set; the download will likely be refused\n');
  }
  const user = `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`;
  const steps = planFetch(
    { image, mode, gpus, user, ...(cacheDir ? { cacheDir } : {}), ...(modelStoreDir ? { modelStoreDir } : {}), ...(caFile ? { caFile } : {}) },
    io.env,
  );
  const say = sayFor(io, values.quiet);
  const listing = new Tail(1024 * 1024);
  const output = containerOutput(values, io, 'list' in mode ? listing : undefined);

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const done: Array<{ title: string; exitCode: number }> = [];
  try {
    for (const step of steps) {
      say(`airlock: running ${step.title} in ${image}`);
      const code = await runtime.runToCompletion(step.spec, output.stdout, output.stderr, abort.signal).catch((err: unknown) => {
        throw gpuHint(err, gpus);
      });
      if (abort.signal.aborted) throw new AirlockError('CONTAINER_FAILED', `${step.title} interrupted`);
      if (code !== 0) {
        output.showKept();
        throw new AirlockError('CONTAINER_FAILED', `${step.title} exited with code ${code}`);
      }
      done.push({ title: step.title, exitCode: code });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (values.json) {
    writeJson(io, {
      ok: true,
      image,
      mode: 'list' in mode ? 'list' : 'all' in mode ? 'all' : 'profiles',
      ...('profiles' in mode ? { profiles: mode.profiles } : {}),
      ...(cacheDir ? { cache: cacheDir } : {}),
      ...(modelStoreDir ? { modelStore: modelStoreDir } : {}),
      gpus,
      steps: done,
      ...('list' in mode ? { listed: parseProfileList(listing.text()) } : {}),
    });
  } else if ('list' in mode) io.stdout.write(listing.text());
  return 0;
}

/**
 * Where the container's output goes: stdout for a person; stderr under --json (stdout holds the one document);
 * kept back under --quiet and shown only when the step fails. A listing is captured to be printed or parsed.
 */
function containerOutput(values: Values, io: CliIO, listing: Tail | undefined) {
  const kept = new Tail(64 * 1024);
  const shown = values.quiet ? kept.stream() : values.json ? io.stderr : io.stdout;
  return {
    stdout: listing ? listing.stream() : shown,
    stderr: values.quiet ? kept.stream() : io.stderr,
    showKept: () => {
      if (listing && listing.size > 0) io.stderr.write(listing.text());
      if (values.quiet && kept.size > 0) io.stderr.write(kept.text());
    },
  };
}

/** The last `max` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  size = 0;

  constructor(private readonly max: number) {}

  stream(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.chunks.push(Buffer.from(chunk));
        this.size += chunk.length;
        while (this.size - (this.chunks[0]?.length ?? 0) >= this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
        cb();
      },
    });
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** list-model-profiles' lines: `- Section:` headings (`- Section: <None>` when empty), then `  - ID (NAME)` under each. */
export function parseProfileList(text: string): Array<{ id: string; name: string; section: string }> {
  const out: Array<{ id: string; name: string; section: string }> = [];
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^- (.+?):(?: <None>)?\s*$/.exec(line);
    if (heading) {
      section = heading[1]!;
      continue;
    }
    // `  - ID (NAME)`, perhaps followed by a note such as `[requires >=24 GB/gpu]`
    const item = /^\s+- ([0-9a-f]{64})(?: \(([^)]*)\))?(?:\s.*)?$/.exec(line);
    if (item) out.push({ id: item[1]!, name: item[2] ?? '', section });
  }
  return out;
}

/** Docker's answer when no NVIDIA runtime serves a GPU request, turned into what to do about it. */
function gpuHint(err: unknown, gpus: string): unknown {
  const message = isAirlockError(err) || err instanceof Error ? err.message : String(err);
  if (gpus === 'none' || !/could not select device driver|nvidia-container-cli|unknown or invalid runtime name: nvidia/i.test(message)) return err;
  return new AirlockError(
    'GPU_UNAVAILABLE',
    `the Docker Engine has no NVIDIA runtime for --gpus all (${message.slice(0, 300)}); on a host without NVIDIA GPUs pass --gpus none and name the profiles with --profile ID (airlock fetch --list --gpus none shows them), or install the NVIDIA Container Toolkit`,
    { path: '--gpus', cause: err },
  );
}

function fetchMode(profiles: string[], all: boolean, list: boolean): FetchMode {
  const chosen = [profiles.length > 0, all, list].filter(Boolean).length;
  if (chosen !== 1)
    throw new AirlockError('USAGE', `give exactly one of --profile, --all or --list${chosen === 0 ? '' : ' (they exclude each other)'}`);
  if (list) return { list: true };
  if (all) return { all: true };
  const bad = profiles.find((p) => p === '' || p.startsWith('-'));
  if (bad !== undefined) throw new AirlockError('USAGE', `--profile ${JSON.stringify(bad)} is not a profile id`, { path: '--profile' });
  return { profiles };
}

async function requireReadableFile(file: string): Promise<void> {
  const s = await stat(file).catch((err: unknown) => {
    throw new AirlockError('USAGE', `--ca-file ${file} cannot be read: ${(err as Error).message}`, { path: file, cause: err });
  });
  if (!s.isFile()) throw new AirlockError('USAGE', `--ca-file ${file} is not a file`, { path: file });
}
