// `airlock pack`'s command-line values turned into checked PackOptions. Pure: time and randomness come in as arguments.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { IMAGES_DIR } from '../format/layout.js';
import type { BundleKind, Profile } from '../format/manifest.js';
import { pathProblem } from '../format/paths.js';
import { bundleId, DEFAULT_CHANNEL, type PackForm, type PackOptions } from '../bundle/pack-options.js';
import { parseSplitSize } from '../bundle/split-size.js';
import type { ImageArchiveSpec } from '../bundle/write-dir.js';
import { loadSchema } from '../util/schemas.js';

/** pack's parsed options (src/cli/commands/pack.ts): the parser has made sure the required ones are there. */
export interface PackArgValues {
  out: string;
  name: string;
  kind: string;
  format?: string | undefined;
  'split-size'?: string | undefined;
  profile: string[];
  'profile-tags': string[];
  'image-archive': string[];
  channel?: string | undefined;
  sequence?: string | undefined;
  expires?: string | undefined;
  sign: string[];
  'sign-agent': string[];
  'passphrase-file'?: string | undefined;
  against?: string | undefined;
  'served-model-name'?: string | undefined;
  /** --image REF: saved from the engine later, so only counted here */
  image?: string[];
}

export interface PackContext {
  cwd: string;
  now: Date;
  /** 8 lowercase hex characters for the bundle id. */
  randomHex: string;
}

export const KINDS: readonly BundleKind[] = ['nim-cache', 'model-store', 'model-dir', 'files'];

export function packOptionsFromArgs(values: PackArgValues, source: string, ctx: PackContext): PackOptions {
  const { out, name } = values;
  checkPattern('name', name, '--name');
  const kind = values.kind as BundleKind;
  if (!KINDS.includes(kind)) usage(`--kind must be one of ${KINDS.join(', ')}`, '--kind');
  const channel = values.channel ?? DEFAULT_CHANNEL;
  checkPattern('channel', channel, '--channel');

  const form = packForm(values.format, values['split-size']);
  const created = new Date(Math.floor(ctx.now.getTime() / 1000) * 1000);
  const sequence = values.sequence === undefined ? Math.floor(created.getTime() / 1000) : parseSequence(values.sequence);
  const profiles = parseProfiles(values.profile, values['profile-tags']);
  const opts: PackOptions = {
    source: path.resolve(ctx.cwd, source),
    out: path.resolve(ctx.cwd, out),
    form,
    id: bundleId(name, sequence, ctx.randomHex),
    name,
    kind,
    channel,
    sequence,
    created,
    profiles,
    images: parseImageArchives(values['image-archive'], ctx.cwd),
    signKeys: values.sign.map((k) => path.resolve(ctx.cwd, k)),
  };
  if (values['sign-agent'].length) opts.signAgentKeys = values['sign-agent'];
  if (form === 'split') opts.splitSize = parseSplitSize(values['split-size'] ?? '');
  if (values.expires !== undefined) opts.expires = parseExpiry(values.expires, created);
  if (values['passphrase-file'] !== undefined) opts.passphraseFile = path.resolve(ctx.cwd, values['passphrase-file']);
  if (values.against !== undefined) opts.against = path.resolve(ctx.cwd, values.against);
  if (values['served-model-name'] !== undefined) opts.servedModelName = values['served-model-name'];
  if (kind === 'files') refuseModelOptions(opts, values.image?.length ?? 0);
  return opts;
}

// A files bundle is never run, so what only a container would use is a mistake, not something to carry.
function refuseModelOptions(opts: PackOptions, imageRefs: number): void {
  if (opts.images.length > 0 || imageRefs > 0) usage('--kind files carries no container image (--image, --image-archive)', '--kind');
  if (opts.profiles.length > 0) usage('--kind files has no NIM profiles (--profile)', '--kind');
  if (opts.servedModelName !== undefined) usage('--kind files is never served (--served-model-name)', '--kind');
}

function packForm(format: string | undefined, splitSize: string | undefined): PackForm {
  if (format !== undefined && format !== 'dir' && format !== 'tar') usage('--format must be dir or tar', '--format');
  if (splitSize !== undefined) {
    if (format === 'dir') usage('--split-size needs the tar format', '--split-size');
    return 'split';
  }
  return format === 'tar' ? 'tar' : 'dir';
}

function parseSequence(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    usage(`--sequence must be a whole number, got ${JSON.stringify(text)}`, '--sequence');
  return Number(text);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `--expires`: an RFC 3339 time, or a duration after `created` such as `30d`, `12h`, `90m`. */
export function parseExpiry(text: string, created: Date): Date {
  const duration = /^(\d+)([smhdw])$/.exec(text.trim());
  let when: Date;
  if (duration) when = new Date(created.getTime() + Number(duration[1]) * (DURATION_UNITS[duration[2] ?? ''] ?? 0) * 1000);
  else if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(text.trim())) when = new Date(text.trim());
  else return usage(`--expires ${JSON.stringify(text)} is neither an RFC 3339 time nor a duration like 30d or 12h`, '--expires');
  if (Number.isNaN(when.getTime())) usage(`--expires ${JSON.stringify(text)} is not a valid time`, '--expires');
  if (when.getTime() <= created.getTime()) usage(`--expires ${JSON.stringify(text)} is not after now`, '--expires');
  return when;
}

/** `--profile ID[=NAME]` (repeatable) and `--profile-tags ID:k=v,k=v` (repeatable, merged). */
export function parseProfiles(profileArgs: string[], tagArgs: string[]): Profile[] {
  const byId = new Map<string, Profile>();
  for (const arg of profileArgs) {
    const eq = arg.indexOf('=');
    const id = eq < 0 ? arg : arg.slice(0, eq);
    const name = eq < 0 ? undefined : arg.slice(eq + 1);
    if (!/^[0-9a-f]{64}$/.test(id)) usage(`--profile ${JSON.stringify(arg)}: the id must be 64 lowercase hex characters`, '--profile');
    if (byId.has(id)) usage(`--profile ${id} given twice`, '--profile');
    byId.set(id, name ? { id, name } : { id });
  }
  for (const arg of tagArgs) {
    const colon = arg.indexOf(':');
    const profile = byId.get(colon < 0 ? '' : arg.slice(0, colon));
    if (!profile) usage(`--profile-tags ${JSON.stringify(arg)}: expected ID:k=v,… for an ID given with --profile`, '--profile-tags');
    const tags = { ...profile.tags };
    for (const pair of arg.slice(colon + 1).split(',')) {
      const m = /^([^=]+)=(.*)$/.exec(pair);
      if (!m?.[1]) usage(`--profile-tags ${JSON.stringify(arg)}: ${JSON.stringify(pair)} is not key=value`, '--profile-tags');
      tags[m[1]] = m[2] ?? '';
    }
    profile.tags = tags;
  }
  return [...byId.values()];
}

/** `--image-archive FILE[=REF]`: the last `=` separates REF (image references never contain one). */
export function parseImageArchives(args: string[], cwd: string): ImageArchiveSpec[] {
  const seen = new Set<string>();
  return args.map((arg) => {
    const eq = arg.lastIndexOf('=');
    const file = eq < 0 ? arg : arg.slice(0, eq);
    const ref = eq < 0 ? undefined : arg.slice(eq + 1);
    if (file === '') usage(`--image-archive ${JSON.stringify(arg)} names no file`, '--image-archive');
    // eslint-disable-next-line no-control-regex -- control characters are exactly what a reference may not hold
    if (ref !== undefined && !/^[^\s\x00-\x1f]{1,512}$/.test(ref))
      usage(`--image-archive ${JSON.stringify(arg)}: ${JSON.stringify(ref)} is not an image reference`, '--image-archive');
    const base = path.basename(file);
    const archive = `${IMAGES_DIR}/${base.endsWith('.tar') ? base : `${base}.tar`}`;
    if (pathProblem(archive) || base.startsWith('.'))
      usage(`--image-archive ${JSON.stringify(arg)}: ${JSON.stringify(base)} is not a usable file name`, '--image-archive');
    if (seen.has(archive)) usage(`two image archives would both be stored as ${archive}; rename one`, '--image-archive');
    seen.add(archive);
    return { file: path.resolve(cwd, file), archive, ...(ref === undefined ? {} : { ref }) };
  });
}

// The manifest schema is the one source of truth for what a name or channel may look like.
function checkPattern(field: 'name' | 'channel', value: string, flag: string): void {
  const props = loadSchema('manifest')['properties'] as Record<string, { pattern: string; maxLength?: number }>;
  const rule = props[field];
  if (!rule) return;
  if (!new RegExp(rule.pattern).test(value) || value.length > (rule.maxLength ?? Infinity)) {
    usage(`${flag} ${JSON.stringify(value)} must match ${rule.pattern}`, flag);
  }
}

function usage(message: string, flag?: string): never {
  throw new AirlockError('USAGE', message, flag === undefined ? {} : { path: flag });
}
