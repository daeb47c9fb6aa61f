// airlock fetch: the connected side's NIM download, through the NIM image itself (the guide's docker run lines).
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { CREDENTIAL_ENV_NAMES, planFetch, type FetchMode } from '../../runtime/fetch-plan.js';
import { dockerRuntime } from '../../runtime/index.js';
import { parseCommandArgs, requireOption, type CliIO } from '../command.js';

export const summary = 'download NIM model profiles into a cache (connected side), through the NIM image';
export const usage = `usage: airlock fetch --image REF (--profile ID... | --all | --list) [--cache DIR]
         [--model-store DIR] [--ca-file PEM] [--gpus all|none]
  Runs the NIM image's download-to-cache (and create-model-store -p ID -m /model-repo with
  --model-store, which needs exactly one --profile) in a container, as NVIDIA's air-gap guide does:
  DIR mounted at /opt/nim/.cache, NGC_API_KEY / HF_TOKEN taken from the environment, HTTP_PROXY,
  HTTPS_PROXY and NO_PROXY passed on, the --ca-file mounted read-only at /opt/nim/proxy-ca.pem with
  SSL_CERT_FILE pointing at it. The container runs as your uid:gid and is removed afterwards.
  --list     show the image's list-model-profiles output.
  --cache    required unless --list. --gpus defaults to all (NIM inspects the GPUs to pick profiles).
  The image must already be in the local engine (docker login nvcr.io; docker pull REF).
  The engine is the one DOCKER_HOST names, as for the docker CLI.`;

const OPTIONS = {
  image: { type: 'string' },
  profile: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  list: { type: 'boolean' },
  cache: { type: 'string' },
  'model-store': { type: 'string' },
  'ca-file': { type: 'string' },
  gpus: { type: 'string' },
} as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected argument ${positionals[0]}\n${usage}`);
  const image = requireOption(values.image, '--image', usage);
  const mode = fetchMode(values.profile ?? [], values.all === true, values.list === true);
  const gpus = values.gpus ?? 'all';
  if (gpus !== 'all' && gpus !== 'none') throw new AirlockError('USAGE', `--gpus must be all or none\n${usage}`, { path: '--gpus' });
  const resolve = (p: string | undefined) => (p === undefined ? undefined : path.resolve(io.cwd, p));
  const cacheDir = 'list' in mode ? resolve(values.cache) : resolve(requireOption(values.cache, '--cache', usage));
  const modelStoreDir = resolve(values['model-store']);
  if (modelStoreDir !== undefined && !('profiles' in mode && mode.profiles.length === 1)) {
    throw new AirlockError('USAGE', `--model-store needs exactly one --profile (create-model-store takes one)\n${usage}`, { path: '--model-store' });
  }
  const caFile = resolve(values['ca-file']);
  if (caFile !== undefined) await requireReadableFile(caFile);
  // Like `mkdir -p "$LOCAL_NIM_CACHE"` in the guide: a missing bind source would be an error.
  for (const dir of [cacheDir, modelStoreDir]) if (dir !== undefined) await mkdir(dir, { recursive: true });

  const runtime = await dockerRuntime(io.env);
  if ((await runtime.imageId(image)) === undefined) {
    throw new AirlockError('IMAGE_MISSING', `image ${image} is not in the local engine; pull it first (docker login nvcr.io; docker pull ${image})`);
  }
  if (!('list' in mode) && !CREDENTIAL_ENV_NAMES.some((n) => io.env[n])) {
    io.stderr.write('airlock: neither NGC_API_KEY nor HF_TOKEN is set; the download will likely be refused\n');
  }
  const user = `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`;
  const steps = planFetch(
    { image, mode, gpus, user, ...(cacheDir ? { cacheDir } : {}), ...(modelStoreDir ? { modelStoreDir } : {}), ...(caFile ? { caFile } : {}) },
    io.env,
  );

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const step of steps) {
      io.stderr.write(`airlock: running ${step.title} in ${image}\n`);
      const code = await runtime.runToCompletion(step.spec, io.stdout, io.stderr, abort.signal);
      if (abort.signal.aborted) throw new AirlockError('CONTAINER_FAILED', `${step.title} interrupted`);
      if (code !== 0) throw new AirlockError('CONTAINER_FAILED', `${step.title} exited with code ${code}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

function fetchMode(profiles: string[], all: boolean, list: boolean): FetchMode {
  const chosen = [profiles.length > 0, all, list].filter(Boolean).length;
  if (chosen !== 1) throw new AirlockError('USAGE', `give exactly one of --profile, --all or --list\n${usage}`);
  if (list) return { list: true };
  if (all) return { all: true };
  const bad = profiles.find((p) => p === '' || p.startsWith('-'));
  if (bad !== undefined) throw new AirlockError('USAGE', `--profile ${JSON.stringify(bad)} is not a profile id\n${usage}`, { path: '--profile' });
  return { profiles };
}

async function requireReadableFile(file: string): Promise<void> {
  const s = await stat(file).catch((err: unknown) => {
    throw new AirlockError('USAGE', `--ca-file ${file} cannot be read: ${(err as Error).message}`, { path: file, cause: err });
  });
  if (!s.isFile()) throw new AirlockError('USAGE', `--ca-file ${file} is not a file`, { path: file });
}
