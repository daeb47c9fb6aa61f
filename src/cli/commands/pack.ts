// airlock pack: a model tree (and image archives) into a signed bundle, as a folder, a tar or split parts.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { deployProblems } from '../../bundle/deployable.js';
import { packBundle } from '../../bundle/pack.js';
import type { PackOptions } from '../../bundle/pack-options.js';
import { lookAtSource } from '../../bundle/source-look.js';
import { AirlockError } from '../../errors.js';
import { terminalPrompt } from '../../trust/passphrase-prompt.js';
import { humanBytes } from '../../util/human.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { DOCKER_ENVIRONMENT, JSON_OPTION, QUIET_OPTION } from '../common-options.js';
import { KINDS, packOptionsFromArgs, parseImageArchives } from '../pack-args.js';
import { writableOutput } from '../store-access.js';
import { progressFor, sayFor } from '../terminal.js';

export const spec = defineCommand({
  name: 'pack',
  summary: 'pack a model tree (and image archives) into a signed bundle',
  synopsis: ['SOURCE --out DEST --name NAME --kind nim-cache|model-store|model-dir|files [options]'],
  description: [
    "SOURCE is a NIM cache, a model store or a model directory: regular files, directories and relative symlinks that stay inside it (recorded in the manifest, never copied). --kind files takes any folder (airlock's own release/, say): it is installed into the store, never deployed.",
    'pack refuses a bundle that could never deploy: a nim-cache without --profile (NIM needs NIM_MODEL_PROFILE), a nim-cache SOURCE without an ngc/hub/models--… folder, or a NIM cache packed as a model-store or model-dir. --allow-undeployable packs it anyway.',
    'The dir format writes the bundle directory DEST (absent or empty); tar writes <id>.airlock.tar into the directory DEST, and with --split-size its parts <id>.airlock.tar.000… and <id>.airlock.parts.json. On a terminal a progress line shows each phase (not with --quiet).',
  ],
  positionals: [{ name: 'SOURCE', complete: 'dir', description: 'the folder to pack' }],
  options: [
    { flag: '--out', value: 'DEST', required: true, complete: 'dir', description: 'where the bundle goes (see above)' },
    { flag: '--name', value: 'NAME', required: true, complete: 'none', description: 'the model name, e.g. meta/llama-3.1-8b-instruct' },
    {
      flag: '--kind',
      value: 'KIND',
      required: true,
      choices: KINDS,
      description: 'what SOURCE is; decides how the installed deployment is mounted into NIM (files: never deployed)',
    },
    { flag: '--format', value: 'FORMAT', choices: ['dir', 'tar'], description: 'a bundle directory (default) or one tar file' },
    {
      flag: '--split-size',
      value: 'SIZE',
      complete: 'none',
      description: 'cut the tar into parts of SIZE: 512M, 4G, 1.5G, bytes, or fat32 (4 GiB - 1); implies --format tar',
    },
    {
      flag: '--profile',
      value: 'ID[=NAME]',
      repeatable: true,
      complete: 'none',
      description: 'a NIM profile the bundle serves (airlock fetch --list shows them)',
    },
    { flag: '--profile-tags', value: 'ID:k=v,k=v', repeatable: true, complete: 'none', description: 'tags for a profile given with --profile' },
    {
      flag: '--image-archive',
      value: 'FILE[=REF]',
      repeatable: true,
      complete: 'file',
      description: 'a docker save archive of the NIM image to carry (REF: the reference it is loaded as)',
    },
    {
      flag: '--image',
      value: 'REF',
      repeatable: true,
      complete: 'none',
      description: 'save REF from the engine DOCKER_HOST names (docker save, streamed) into the bundle',
    },
    { flag: '--channel', value: 'C', complete: 'none', description: 'the release channel (default stable)' },
    {
      flag: '--sequence',
      value: 'N',
      complete: 'none',
      description: "the bundle's sequence, for rollback protection (default the current Unix time)",
    },
    { flag: '--expires', value: 'WHEN', complete: 'none', description: 'an RFC 3339 time or a duration such as 30d or 12h' },
    { flag: '--served-model-name', value: 'N', complete: 'none', description: 'the model name NIM serves (NIM_SERVED_MODEL_NAME)' },
    {
      flag: '--against',
      value: 'INVENTORY',
      complete: 'file',
      description: 'an inventory from the air-gapped side (airlock inventory): content it holds is listed as omitted and left out (a delta bundle)',
    },
    {
      flag: '--allow-undeployable',
      description: 'pack even what could never deploy (a nim-cache without --profile, a SOURCE that does not look like --kind)',
    },
    {
      flag: '--sign',
      value: 'KEY',
      repeatable: true,
      complete: 'file',
      description:
        "an OpenSSH private key file: ed25519 (signed by airlock), or a security key's file from ssh-keygen -t ed25519-sk / ecdsa-sk (signed by ssh-keygen: touch the token when asked)",
      group: 'Signing',
    },
    {
      flag: '--sign-agent',
      value: 'FINGERPRINT|PUBKEY',
      repeatable: true,
      complete: 'file',
      description: 'a key held by ssh-agent (SSH_AUTH_SOCK), named by its SHA256: fingerprint (ssh-add -l) or its .pub file',
      group: 'Signing',
    },
    {
      flag: '--passphrase-file',
      value: 'FILE',
      complete: 'file',
      description: 'read the passphrase of the --sign keys from FILE instead of asking',
      group: 'Signing',
    },
    JSON_OPTION,
    QUIET_OPTION,
  ],
  jsonSchema: 'pack-report',
  environment: [...DOCKER_ENVIRONMENT, { name: 'SSH_AUTH_SOCK', description: 'the ssh-agent --sign-agent asks' }],
  examples: [
    {
      description: 'A signed tar bundle of a NIM cache with its profile.',
      command:
        'airlock pack ~/.cache/nim --out /media/usb --name meta/llama-3.1-8b-instruct --kind nim-cache --profile ID --format tar --sign ~/.ssh/release_ed25519',
    },
  ],
  seeAlso: ['fetch', 'sign', 'verify', 'inventory'],
});

type Values = ParsedArgs<typeof spec>['values'];

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const opts = packOptionsFromArgs(values, positionals.SOURCE, { cwd: io.cwd, now: new Date(), randomHex: randomBytes(4).toString('hex') });
  if (!values['allow-undeployable']) await refuseUndeployable(opts);
  const saved = await saveImages(values.image, opts.out, values.quiet, io);
  try {
    // Saved images join the archives given, under the same rules (one name per archive in the bundle).
    if (saved.archives.length > 0) opts.images = parseImageArchives([...values['image-archive'], ...saved.archives], io.cwd);
    return await packWith(opts, values, io);
  } finally {
    if (saved.dir) await rm(saved.dir, { recursive: true, force: true });
  }
}

async function refuseUndeployable(opts: PackOptions): Promise<void> {
  if (opts.kind === 'files') return;
  const problems = deployProblems(opts.kind, opts.profiles.length, await lookAtSource(opts.source));
  if (problems.length === 0) return;
  const code = problems.some((p) => p.code === 'KIND_MISMATCH') ? 'KIND_MISMATCH' : 'USAGE';
  const message = `${problems.map((p) => p.message).join('; and ')} (--allow-undeployable packs it anyway)`;
  throw new AirlockError(code, message, { path: problems[0]!.flag });
}

/**
 * --image REF: `docker save` each image into a temporary folder beside --out (same filesystem, no /tmp
 * size limit), then pack it as --image-archive FILE=REF. dockerode loads only when --image is given.
 */
async function saveImages(refs: string[], out: string, quiet: boolean, io: CliIO): Promise<{ dir?: string; archives: string[] }> {
  if (refs.length === 0) return { archives: [] };
  const parent = path.dirname(out);
  const dir = await writableOutput(parent, async () => {
    await mkdir(parent, { recursive: true });
    return mkdtemp(path.join(parent, '.airlock-images-'));
  });
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
      sayFor(io, quiet)(`saving image ${ref}`);
      await runtime.saveImage(ref, file);
      archives.push(`${file}=${ref}`);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, archives };
}

async function packWith(opts: PackOptions, values: Values, io: CliIO): Promise<number> {
  const prompt = terminalPrompt(io.stdin, io.stderr);
  const result = await writableOutput(opts.out, () =>
    packBundle(opts, {
      progress: progressFor(io, values.quiet),
      signers: {
        ...(prompt ? { prompt } : {}),
        warn: (m) => writeLines(io, [`airlock: warning: ${m}`], 'stderr'),
        stderr: io.stderr,
        env: io.env,
        cwd: io.cwd,
      },
    }),
  );
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
