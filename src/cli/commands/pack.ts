import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { packBundle } from '../../bundle/pack.js';
import { packOptionsFromArgs } from '../../bundle/pack-options.js';
import { humanBytes } from '../../util/human.js';
import { terminalPrompt } from '../../trust/passphrase-prompt.js';
import { createProgress } from '../../util/progress.js';
import { parseCommandArgs, writeJson, writeLines, type CliIO } from '../command.js';

export const summary = 'pack a model tree (and image archives) into a signed bundle';
export const usage = `usage: airlock pack SOURCE --out DEST --name NAME --kind nim-cache|model-store|model-dir|files
         [--format dir|tar] [--split-size SIZE] [--profile ID[=NAME]]... [--profile-tags ID:k=v,k=v]...
         [--image-archive FILE[=REF]]... [--image REF]... [--channel C] [--sequence N] [--expires WHEN]
         [--sign KEY]... [--sign-agent FINGERPRINT|PUBKEY]... [--passphrase-file F] [--against INVENTORY]
         [--served-model-name N] [--json]
  SOURCE   a NIM cache, a model store or a model directory; regular files, directories and
           relative symlinks that stay inside it (recorded in the manifest, never copied).
  --kind files  any folder (airlock's own release/, say): installed into the store, never deployed.
  --out    dir format: the bundle directory (absent or empty); tar: a directory that receives
           <id>.airlock.tar, or with --split-size its parts <id>.airlock.tar.000… and <id>.airlock.parts.json.
  --split-size  512M, 4G, 1.5G, bytes, or fat32 (4 GiB - 1); implies --format tar.
  --expires     an RFC 3339 time or a duration such as 30d or 12h.
  --sign KEY    an OpenSSH private key file: ed25519 (signed by airlock), or a security key's file from
                ssh-keygen -t ed25519-sk / ecdsa-sk (signed by ssh-keygen: touch the token when asked).
                Repeat for several signatures.
  --sign-agent FINGERPRINT|PUBKEY  a key held by ssh-agent (SSH_AUTH_SOCK), named by its SHA256:
                fingerprint (ssh-add -l) or its .pub file; repeatable.
  --image REF   save REF from the engine DOCKER_HOST names (docker save, streamed) into the bundle.
  --against     an inventory from the air-gapped side (airlock inventory): content it holds is
                listed in the manifest as omitted and left out of the payload.
  Defaults: --format dir, --channel stable, --sequence the current Unix time.`;

type PackValues = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

const OPTIONS = {
  out: { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  format: { type: 'string' },
  'split-size': { type: 'string' },
  profile: { type: 'string', multiple: true },
  'profile-tags': { type: 'string', multiple: true },
  'image-archive': { type: 'string', multiple: true },
  image: { type: 'string', multiple: true },
  channel: { type: 'string' },
  sequence: { type: 'string' },
  expires: { type: 'string' },
  sign: { type: 'string', multiple: true },
  'sign-agent': { type: 'string', multiple: true },
  'passphrase-file': { type: 'string' },
  against: { type: 'string' },
  'served-model-name': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, usage);
  const saved = await saveImages(values.image ?? [], values.out, io);
  try {
    return await packWith({ ...values, 'image-archive': [...(values['image-archive'] ?? []), ...saved.archives] }, positionals, io);
  } finally {
    if (saved.dir) await rm(saved.dir, { recursive: true, force: true });
  }
}

/**
 * --image REF: `docker save` each image into a temporary folder beside --out (same filesystem, no /tmp
 * size limit), then pack it as --image-archive FILE=REF. dockerode loads only when --image is given.
 */
async function saveImages(refs: string[], out: string | undefined, io: CliIO): Promise<{ dir?: string; archives: string[] }> {
  if (refs.length === 0) return { archives: [] };
  if (out === undefined || out === '') throw new AirlockError('USAGE', `missing --out\n${usage}`, { path: '--out' });
  const parent = path.dirname(path.resolve(io.cwd, out));
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(path.join(parent, '.airlock-images-'));
  const { dockerRuntime } = await import('../../runtime/index.js');
  const runtime = await dockerRuntime(io.env);
  const archives: string[] = [];
  try {
    for (const [i, ref] of refs.entries()) {
      const base =
        ref
          .replace(/@sha256:.*$/, '')
          .replace(/[^A-Za-z0-9_.-]+/g, '-')
          .replace(/^[-.]+/, '') || `image-${i}`;
      const file = path.join(dir, `${base}.tar`);
      writeLines(io, [`saving image ${ref}`], 'stderr');
      await runtime.saveImage(ref, file);
      archives.push(`${file}=${ref}`);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, archives };
}

async function packWith(values: PackValues, positionals: string[], io: CliIO): Promise<number> {
  let opts;
  try {
    opts = packOptionsFromArgs(values, positionals, { cwd: io.cwd, now: new Date(), randomHex: randomBytes(4).toString('hex') });
  } catch (err) {
    if (err instanceof AirlockError && err.code === 'USAGE')
      throw new AirlockError('USAGE', `${err.message}\n${usage}`, { ...(err.path ? { path: err.path } : {}), cause: err });
    throw err;
  }
  const prompt = terminalPrompt(io.stdin, io.stderr);
  const result = await packBundle(opts, {
    progress: createProgress(io.stderr),
    signers: {
      ...(prompt ? { prompt } : {}),
      warn: (m) => writeLines(io, [`airlock: warning: ${m}`], 'stderr'),
      stderr: io.stderr,
      env: io.env,
      cwd: io.cwd,
    },
  });
  if (values.json) {
    writeJson(io, result);
    return 0;
  }
  const t = result.totals;
  const lines = [
    `packed    ${opts.name} (${opts.kind}, ${result.form} form)`,
    `id        ${result.id}`,
    `manifest  sha256 ${result.manifestDigest}`,
    `payload   ${t.files} files, ${t.symlinks} symlinks, ${humanBytes(t.payloadBytes)}${t.omittedFiles ? ` (${t.omittedFiles} files, ${humanBytes(t.omittedBytes)} left out against the inventory)` : ''}`,
    ...(t.imageBytes ? [`images    ${humanBytes(t.imageBytes)}`] : []),
    `signed    ${t.signatures === 0 ? 'not signed' : `${t.signatures} signature(s)`}`,
    ...result.outputs.map((o, i) => `${i === 0 ? 'wrote    ' : '         '} ${o}`),
  ];
  writeLines(io, lines);
  return 0;
}
