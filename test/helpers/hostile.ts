// Every hostile bundle the format must reject, each named after what it defends against.
// Shared by the verify and install tests: each case builds its bundle into a fresh folder.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ErrorCode } from '../../src/errors.js';
import {
  defaultFiles,
  manifestFor,
  sshSign,
  tarBundleEntries,
  tarBytes,
  writeDirBundle,
  type SourceFile,
  type TarEntrySpec,
  type TestKey,
} from './bundle-builder.js';

export interface HostileContext {
  trusted: TestKey;
  untrusted: TestKey;
}

export interface HostileCase {
  name: string;
  code: ErrorCode;
  /** threshold to verify with (default 1) */
  threshold?: number;
  build(dir: string, ctx: HostileContext): Promise<string>;
}

const WEIGHTS = 'payload/weights/model-00001-of-00001.safetensors';

async function signedDir(dir: string, ctx: HostileContext, files: SourceFile[] = defaultFiles(), overrides: Record<string, unknown> = {}) {
  return writeDirBundle(dir, { files, manifest: manifestFor(files, overrides), signers: [ctx.trusted] });
}

async function mutate(file: string, fn: (b: Buffer) => Buffer): Promise<void> {
  await fsp.writeFile(file, fn(await fsp.readFile(file)));
}

/** A signed manifest whose file list is edited after hashing (paths the schema allows but the rules forbid). */
async function signedWithPaths(dir: string, ctx: HostileContext, edit: (files: Array<Record<string, unknown>>) => void): Promise<string> {
  const files = defaultFiles();
  const manifest = manifestFor(files);
  edit(manifest.files as Array<Record<string, unknown>>);
  await writeDirBundle(dir, { files, manifest, signers: [ctx.trusted] });
  return dir;
}

async function signedTar(dir: string, ctx: HostileContext, arrange: (entries: TarEntrySpec[]) => TarEntrySpec[], files: SourceFile[] = defaultFiles()): Promise<string> {
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(files), null, 2) + '\n');
  const sig = await sshSign(ctx.trusted, manifestBytes);
  const file = path.join(dir, 'hostile.airlock.tar');
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(file, tarBytes(arrange(tarBundleEntries(manifestBytes, [sig], files))));
  return file;
}

function replaceEntry(entries: TarEntrySpec[], p: string, replacement: TarEntrySpec): TarEntrySpec[] {
  return entries.map((e) => (e.path === p ? replacement : e));
}

async function armouredBlob(ctx: HostileContext, dir: string, edit: (blob: Buffer) => Buffer): Promise<Buffer> {
  const files = defaultFiles();
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(files), null, 2) + '\n');
  const sig = (await sshSign(ctx.trusted, manifestBytes)).toString('utf8');
  const b64 = sig.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const blob = edit(Buffer.from(b64, 'base64'));
  const wrapped = blob.toString('base64').match(/.{1,70}/g)!.join('\n');
  await writeDirBundle(dir, { files, manifestBytes });
  return Buffer.from(`-----BEGIN SSH SIGNATURE-----\n${wrapped}\n-----END SSH SIGNATURE-----\n`);
}

export function hostileCases(): HostileCase[] {
  return [
    { name: 'byte flipped in a payload file', code: 'HASH_MISMATCH', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await mutate(path.join(dir, WEIGHTS), (b) => { b[100] = b[100]! ^ 0xff; return b; });
      return dir;
    } },
    { name: 'payload file truncated', code: 'SIZE_MISMATCH', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await mutate(path.join(dir, WEIGHTS), (b) => b.subarray(0, b.length - 1));
      return dir;
    } },
    { name: 'bytes appended to a payload file', code: 'SIZE_MISMATCH', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await mutate(path.join(dir, WEIGHTS), (b) => Buffer.concat([b, Buffer.from('x')]));
      return dir;
    } },
    { name: 'unlisted file in the payload', code: 'UNLISTED_FILE', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await fsp.writeFile(path.join(dir, 'payload', 'backdoor.py'), 'import os\n');
      return dir;
    } },
    { name: 'listed file missing', code: 'MISSING_FILE', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await fsp.rm(path.join(dir, 'payload', 'tokenizer.json'));
      return dir;
    } },
    { name: 'symlink where a file is listed', code: 'WRONG_TYPE', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await fsp.rm(path.join(dir, 'payload', 'tokenizer.json'));
      await fsp.symlink('/etc/passwd', path.join(dir, 'payload', 'tokenizer.json'));
      return dir;
    } },
    { name: 'directory where a file is listed', code: 'WRONG_TYPE', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await fsp.rm(path.join(dir, 'payload', 'tokenizer.json'));
      await fsp.mkdir(path.join(dir, 'payload', 'tokenizer.json'));
      return dir;
    } },
    { name: 'path with ..', code: 'BAD_PATH', build: (dir, ctx) => signedWithPaths(dir, ctx, (f) => { f[0]!.path = '../../etc/cron.d/x'; }) },
    { name: 'absolute path', code: 'BAD_PATH', build: (dir, ctx) => signedWithPaths(dir, ctx, (f) => { f[0]!.path = '/etc/passwd'; }) },
    { name: 'path with a backslash', code: 'BAD_PATH', build: (dir, ctx) => signedWithPaths(dir, ctx, (f) => { f[0]!.path = '..\\..\\windows\\x'; }) },
    { name: 'path with NUL', code: 'BAD_PATH', build: (dir, ctx) => signedWithPaths(dir, ctx, (f) => { f[0]!.path = 'config.json\u0000.txt'; }) },
    { name: 'duplicate paths', code: 'DUPLICATE_PATH', build: (dir, ctx) => signedWithPaths(dir, ctx, (f) => { f.push({ ...f[0]! }); }) },
    { name: 'symlink escaping the tree', code: 'BAD_SYMLINK', build: (dir, ctx) => signedWithPaths(dir, ctx, (f) => { f[3]!.target = '../../../etc/shadow'; }) },
    { name: 'signature with the wrong namespace', code: 'WRONG_NAMESPACE', build: async (dir, ctx) => {
      const files = defaultFiles();
      await writeDirBundle(dir, { files, signers: [ctx.trusted], namespace: 'file' });
      return dir;
    } },
    { name: 'signature by an untrusted key', code: 'UNTRUSTED_SIGNER', build: async (dir, ctx) => {
      await writeDirBundle(dir, { signers: [ctx.untrusted] });
      return dir;
    } },
    { name: 'fewer signatures than the threshold', code: 'THRESHOLD_NOT_MET', threshold: 2, build: async (dir, ctx) => {
      await writeDirBundle(dir, { signers: [ctx.trusted, ctx.trusted] });
      return dir;
    } },
    { name: 'no signature at all', code: 'NO_SIGNATURES', build: async (dir) => {
      await writeDirBundle(dir, {});
      return dir;
    } },
    { name: 'expired manifest', code: 'EXPIRED', build: async (dir, ctx) => {
      await signedDir(dir, ctx, defaultFiles(), { created: '2020-01-01T00:00:00Z', expires: '2020-02-01T00:00:00Z' });
      return dir;
    } },
    { name: 'signature over other bytes (manifest edited after signing)', code: 'SIGNATURE_INVALID', build: async (dir, ctx) => {
      await signedDir(dir, ctx);
      await mutate(path.join(dir, 'airlock.json'), (b) => Buffer.from(b.toString().replace('"sequence": 1', '"sequence": 2')));
      return dir;
    } },
    { name: 'malformed SSHSIG: bad armour', code: 'SIGNATURE_MALFORMED', build: async (dir) => {
      await writeDirBundle(dir, {});
      await fsp.writeFile(path.join(dir, 'signatures', 'bad.sig'), '-----BEGIN SSH SIGNATURE-----\n!!!not base64!!!\n-----END PGP SIGNATURE-----\n');
      return dir;
    } },
    { name: 'malformed SSHSIG: unknown version', code: 'SIGNATURE_MALFORMED', build: async (dir, ctx) => {
      const sig = await armouredBlob(ctx, dir, (b) => { b.writeUInt32BE(2, 6); return b; });
      await fsp.writeFile(path.join(dir, 'signatures', 'v2.sig'), sig);
      return dir;
    } },
    { name: 'malformed SSHSIG: trailing bytes', code: 'SIGNATURE_MALFORMED', build: async (dir, ctx) => {
      const sig = await armouredBlob(ctx, dir, (b) => Buffer.concat([b, Buffer.from([0, 0, 0, 1, 0x41])]));
      await fsp.writeFile(path.join(dir, 'signatures', 'trailing.sig'), sig);
      return dir;
    } },
    { name: 'oversized manifest', code: 'MANIFEST_TOO_LARGE', build: async (dir) => {
      await writeDirBundle(dir, { manifestBytes: Buffer.alloc(33 * 1024 * 1024, 0x20) });
      return dir;
    } },
    { name: 'manifest that is not JSON (signed, so the parser is reached)', code: 'MANIFEST_INVALID', build: async (dir, ctx) => {
      await writeDirBundle(dir, { manifestBytes: Buffer.from('{"schema": "airlock.bundle/v1", '), signers: [ctx.trusted] });
      return dir;
    } },
    { name: 'unsigned manifest that is not JSON: refused by its signatures, never parsed', code: 'NO_SIGNATURES', build: async (dir) => {
      await writeDirBundle(dir, { manifestBytes: Buffer.from('{"schema": "airlock.bundle/v1", ') });
      return dir;
    } },
    { name: 'tar with an entry before the manifest', code: 'MANIFEST_NOT_FIRST', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => [{ path: 'payload/evil.sh', data: Buffer.from('#!/bin/sh\n') }, ...entries]) },
    { name: 'tar entry that is a hard link', code: 'WRONG_TYPE', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'Link', linkpath: '/etc/passwd' })) },
    { name: 'tar entry that is a symlink', code: 'WRONG_TYPE', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'SymbolicLink', linkpath: '/etc/passwd' })) },
    { name: 'tar entry that is a character device', code: 'WRONG_TYPE', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'CharacterDevice' })) },
    { name: 'tar entry that is a FIFO', code: 'WRONG_TYPE', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'FIFO' })) },
    { name: 'tar entry larger than declared', code: 'SIZE_MISMATCH', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => entries.map((e) => (e.path === 'payload/tokenizer.json' ? { ...e, data: Buffer.concat([e.data!, Buffer.from('more')]) } : e))) },
    { name: 'tar entry not listed', code: 'UNLISTED_FILE', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => [...entries, { path: 'payload/extra.bin', data: Buffer.from('x') }]) },
    { name: 'tar entry with a path traversal', code: 'UNLISTED_FILE', build: (dir, ctx) =>
      signedTar(dir, ctx, (entries) => [...entries, { path: 'payload/../../etc/x', data: Buffer.from('x') }]) },
    { name: 'truncated tar', code: 'TAR_INVALID', build: async (dir, ctx) => {
      const file = await signedTar(dir, ctx, (e) => e);
      await mutate(file, (b) => b.subarray(0, 3000));
      return file;
    } },
  ];
}
