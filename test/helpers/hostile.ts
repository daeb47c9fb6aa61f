// Every hostile bundle the format must reject, each named after what it defends against.
// Shared by the verify and install tests: each case builds its bundle into a fresh folder.
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { ErrorCode } from '../../src/errors.js';
import { defaultFiles, manifestFor, tarBundleEntries, tarBytes, writeDirBundle, type SourceFile, type TarEntrySpec } from './bundle-builder.js';
import { sshSign, type TestKey } from './keys.js';

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

async function signedTar(
  dir: string,
  ctx: HostileContext,
  arrange: (entries: TarEntrySpec[]) => TarEntrySpec[],
  files: SourceFile[] = defaultFiles(),
): Promise<string> {
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(files), null, 2) + '\n');
  const sig = Buffer.from(sshSign(ctx.trusted, manifestBytes));
  const file = path.join(dir, 'hostile.airlock.tar');
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(file, tarBytes(arrange(tarBundleEntries(manifestBytes, [sig], files))));
  return file;
}

/** A FIFO at `file` (rsync -a copies FIFOs; an ext4 stick can carry one). */
async function fifoAt(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
  await fsp.mkdir(path.dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
}

/** A signed manifest whose bytes are given as they are (to reach the parser with shapes serialisation would not make). */
async function signedBytes(dir: string, ctx: HostileContext, manifestBytes: Buffer): Promise<string> {
  await writeDirBundle(dir, { manifestBytes, signers: [ctx.trusted] });
  return dir;
}

/** A manifest of `n` entries that each break the schema (a hostile flood of errors), `size` bytes at most. */
function schemaFlood(n: number): Buffer {
  const m = manifestFor(defaultFiles());
  const bad = '{"path":7,"size":"x","sha256":[]},';
  return Buffer.from(JSON.stringify({ ...m, files: [] }).replace('"files":[]', `"files":[${bad.repeat(n).slice(0, -1)}]`));
}

function replaceEntry(entries: TarEntrySpec[], p: string, replacement: TarEntrySpec): TarEntrySpec[] {
  return entries.map((e) => (e.path === p ? replacement : e));
}

async function armouredBlob(ctx: HostileContext, dir: string, edit: (blob: Buffer) => Buffer): Promise<Buffer> {
  const files = defaultFiles();
  const manifestBytes = Buffer.from(JSON.stringify(manifestFor(files), null, 2) + '\n');
  const sig = sshSign(ctx.trusted, manifestBytes);
  const b64 = sig
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  const blob = edit(Buffer.from(b64, 'base64'));
  const wrapped = blob
    .toString('base64')
    .match(/.{1,70}/g)!
    .join('\n');
  await writeDirBundle(dir, { files, manifestBytes });
  return Buffer.from(`-----BEGIN SSH SIGNATURE-----\n${wrapped}\n-----END SSH SIGNATURE-----\n`);
}

export function hostileCases(): HostileCase[] {
  return [
    {
      name: 'byte flipped in a payload file',
      code: 'HASH_MISMATCH',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await mutate(path.join(dir, WEIGHTS), (b) => {
          b[100] = b[100]! ^ 0xff;
          return b;
        });
        return dir;
      },
    },
    {
      name: 'payload file truncated',
      code: 'SIZE_MISMATCH',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await mutate(path.join(dir, WEIGHTS), (b) => b.subarray(0, b.length - 1));
        return dir;
      },
    },
    {
      name: 'bytes appended to a payload file',
      code: 'SIZE_MISMATCH',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await mutate(path.join(dir, WEIGHTS), (b) => Buffer.concat([b, Buffer.from('x')]));
        return dir;
      },
    },
    {
      name: 'unlisted file in the payload',
      code: 'UNLISTED_FILE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fsp.writeFile(path.join(dir, 'payload', 'backdoor.py'), 'import os\n');
        return dir;
      },
    },
    {
      name: 'listed file missing',
      code: 'MISSING_FILE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fsp.rm(path.join(dir, 'payload', 'tokenizer.json'));
        return dir;
      },
    },
    {
      name: 'symlink where a file is listed',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fsp.rm(path.join(dir, 'payload', 'tokenizer.json'));
        await fsp.symlink('/etc/passwd', path.join(dir, 'payload', 'tokenizer.json'));
        return dir;
      },
    },
    {
      name: 'directory where a file is listed',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fsp.rm(path.join(dir, 'payload', 'tokenizer.json'));
        await fsp.mkdir(path.join(dir, 'payload', 'tokenizer.json'));
        return dir;
      },
    },
    {
      name: 'path with ..',
      code: 'BAD_PATH',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[0]!.path = '../../etc/cron.d/x';
        }),
    },
    {
      name: 'absolute path',
      code: 'BAD_PATH',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[0]!.path = '/etc/passwd';
        }),
    },
    {
      name: 'path with a backslash',
      code: 'BAD_PATH',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[0]!.path = '..\\..\\windows\\x';
        }),
    },
    {
      name: 'path with NUL',
      code: 'BAD_PATH',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[0]!.path = 'config.json\u0000.txt';
        }),
    },
    {
      name: 'duplicate paths',
      code: 'DUPLICATE_PATH',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f.push({ ...f[0]! });
        }),
    },
    {
      name: 'symlink escaping the tree',
      code: 'BAD_SYMLINK',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[3]!.target = '../../../etc/shadow';
        }),
    },
    {
      name: 'signature with the wrong namespace',
      code: 'WRONG_NAMESPACE',
      build: async (dir, ctx) => {
        const files = defaultFiles();
        await writeDirBundle(dir, { files, signers: [ctx.trusted], namespace: 'file' });
        return dir;
      },
    },
    {
      name: 'signature by an untrusted key',
      code: 'UNTRUSTED_SIGNER',
      build: async (dir, ctx) => {
        await writeDirBundle(dir, { signers: [ctx.untrusted] });
        return dir;
      },
    },
    {
      name: 'fewer signatures than the threshold',
      code: 'THRESHOLD_NOT_MET',
      threshold: 2,
      build: async (dir, ctx) => {
        await writeDirBundle(dir, { signers: [ctx.trusted, ctx.trusted] });
        return dir;
      },
    },
    {
      name: 'no signature at all',
      code: 'NO_SIGNATURES',
      build: async (dir) => {
        await writeDirBundle(dir, {});
        return dir;
      },
    },
    {
      name: 'expired manifest',
      code: 'EXPIRED',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx, defaultFiles(), { created: '2020-01-01T00:00:00Z', expires: '2020-02-01T00:00:00Z' });
        return dir;
      },
    },
    {
      name: 'signature over other bytes (manifest edited after signing)',
      code: 'SIGNATURE_INVALID',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await mutate(path.join(dir, 'airlock.json'), (b) => Buffer.from(b.toString().replace('"sequence": 1', '"sequence": 2')));
        return dir;
      },
    },
    {
      name: 'malformed SSHSIG: bad armour',
      code: 'SIGNATURE_MALFORMED',
      build: async (dir) => {
        await writeDirBundle(dir, {});
        await fsp.writeFile(
          path.join(dir, 'signatures', 'bad.sig'),
          '-----BEGIN SSH SIGNATURE-----\n!!!not base64!!!\n-----END PGP SIGNATURE-----\n',
        );
        return dir;
      },
    },
    {
      name: 'malformed SSHSIG: unknown version',
      code: 'SIGNATURE_MALFORMED',
      build: async (dir, ctx) => {
        const sig = await armouredBlob(ctx, dir, (b) => {
          b.writeUInt32BE(2, 6);
          return b;
        });
        await fsp.writeFile(path.join(dir, 'signatures', 'v2.sig'), sig);
        return dir;
      },
    },
    {
      name: 'malformed SSHSIG: trailing bytes',
      code: 'SIGNATURE_MALFORMED',
      build: async (dir, ctx) => {
        const sig = await armouredBlob(ctx, dir, (b) => Buffer.concat([b, Buffer.from([0, 0, 0, 1, 0x41])]));
        await fsp.writeFile(path.join(dir, 'signatures', 'trailing.sig'), sig);
        return dir;
      },
    },
    {
      name: 'oversized manifest',
      code: 'MANIFEST_TOO_LARGE',
      build: async (dir) => {
        await writeDirBundle(dir, { manifestBytes: Buffer.alloc(33 * 1024 * 1024, 0x20) });
        return dir;
      },
    },
    {
      name: 'manifest that is not JSON (signed, so the parser is reached)',
      code: 'MANIFEST_INVALID',
      build: async (dir, ctx) => {
        await writeDirBundle(dir, { manifestBytes: Buffer.from('{"schema": "airlock.bundle/v1", '), signers: [ctx.trusted] });
        return dir;
      },
    },
    {
      name: 'unsigned manifest that is not JSON: refused by its signatures, never parsed',
      code: 'NO_SIGNATURES',
      build: async (dir) => {
        await writeDirBundle(dir, { manifestBytes: Buffer.from('{"schema": "airlock.bundle/v1", ') });
        return dir;
      },
    },
    {
      name: 'tar with an entry before the manifest',
      code: 'MANIFEST_NOT_FIRST',
      build: (dir, ctx) => signedTar(dir, ctx, (entries) => [{ path: 'payload/evil.sh', data: Buffer.from('#!/bin/sh\n') }, ...entries]),
    },
    {
      name: 'tar entry that is a hard link',
      code: 'WRONG_TYPE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) =>
          replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'Link', linkpath: '/etc/passwd' }),
        ),
    },
    {
      name: 'tar entry that is a symlink',
      code: 'WRONG_TYPE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) =>
          replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'SymbolicLink', linkpath: '/etc/passwd' }),
        ),
    },
    {
      name: 'tar entry that is a character device',
      code: 'WRONG_TYPE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) =>
          replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'CharacterDevice' }),
        ),
    },
    {
      name: 'tar entry that is a FIFO',
      code: 'WRONG_TYPE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) => replaceEntry(entries, 'payload/tokenizer.json', { path: 'payload/tokenizer.json', type: 'FIFO' })),
    },
    {
      name: 'tar entry larger than declared',
      code: 'SIZE_MISMATCH',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) =>
          entries.map((e) => (e.path === 'payload/tokenizer.json' ? { ...e, data: Buffer.concat([e.data!, Buffer.from('more')]) } : e)),
        ),
    },
    {
      name: 'tar entry not listed',
      code: 'UNLISTED_FILE',
      build: (dir, ctx) => signedTar(dir, ctx, (entries) => [...entries, { path: 'payload/extra.bin', data: Buffer.from('x') }]),
    },
    {
      name: 'tar entry with a path traversal',
      code: 'UNLISTED_FILE',
      build: (dir, ctx) => signedTar(dir, ctx, (entries) => [...entries, { path: 'payload/../../etc/x', data: Buffer.from('x') }]),
    },
    // Special files where regular ones belong: refused at once, never opened in a way that waits (issue 11 §1).
    {
      name: 'FIFO named signatures/x.sig',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fifoAt(path.join(dir, 'signatures', 'x.sig'));
        return dir;
      },
    },
    {
      name: 'FIFO in place of airlock.json',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fifoAt(path.join(dir, 'airlock.json'));
        return dir;
      },
    },
    {
      name: 'FIFO where a payload file is listed',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fifoAt(path.join(dir, WEIGHTS));
        return dir;
      },
    },
    {
      name: 'FIFO among the sidecar signatures of a tar',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        const file = await signedTar(dir, ctx, (e) => e);
        await fifoAt(path.join(dir, 'hostile.airlock.signatures', 'x.sig'));
        return file;
      },
    },
    {
      name: 'signatures/ folder that is a symlink',
      code: 'WRONG_TYPE',
      build: async (dir, ctx) => {
        await signedDir(dir, ctx);
        await fsp.rename(path.join(dir, 'signatures'), path.join(dir, '.elsewhere'));
        await fsp.symlink('.elsewhere', path.join(dir, 'signatures'));
        return dir;
      },
    },
    // Bounded work before trust (issue 11 §2): the signatures are judged before the manifest is parsed.
    {
      name: 'manifest over the 16 MiB default limit',
      code: 'MANIFEST_TOO_LARGE',
      build: async (dir) => {
        await writeDirBundle(dir, { manifestBytes: Buffer.alloc(17 * 1024 * 1024, 0x20) });
        return dir;
      },
    },
    {
      name: 'unsigned manifest flooding the schema with errors: refused by its signatures, never validated',
      code: 'NO_SIGNATURES',
      build: async (dir) => {
        await writeDirBundle(dir, { manifestBytes: schemaFlood(300_000) });
        return dir;
      },
    },
    {
      name: 'signed manifest flooding the schema with errors: one error, bounded',
      code: 'MANIFEST_INVALID',
      build: (dir, ctx) => signedBytes(dir, ctx, schemaFlood(300_000)),
    },
    {
      name: 'path with more than 128 segments',
      code: 'BAD_PATH',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[0]!.path = Array.from({ length: 200 }, () => 'd').join('/');
        }),
    },
    // Strict values (issue 11 §7): a time the schema lets through but no clock can hold is invalid, never "no expiry".
    {
      name: 'expiry that is a leap second',
      code: 'MANIFEST_INVALID',
      build: (dir, ctx) => signedDir(dir, ctx, defaultFiles(), { expires: '2099-12-31T23:59:60Z' }).then(() => dir),
    },
    {
      name: 'created on February 30th',
      code: 'MANIFEST_INVALID',
      build: (dir, ctx) => signedDir(dir, ctx, defaultFiles(), { created: '2026-02-30T00:00:00Z' }).then(() => dir),
    },
    // Symlinks resolved against the manifest's own tree, as the kernel will resolve them once installed.
    {
      name: 'symlink leading through a regular file',
      code: 'BAD_SYMLINK',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[3]!.target = 'config.json/../tokenizer.json';
        }),
    },
    {
      name: 'symlink to a directory',
      code: 'BAD_SYMLINK',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[3]!.target = 'weights';
        }),
    },
    {
      name: 'symlink to an entry the manifest does not list',
      code: 'BAD_SYMLINK',
      build: (dir, ctx) =>
        signedWithPaths(dir, ctx, (f) => {
          f[3]!.target = 'weights/missing.bin';
        }),
    },
    // One reading of a tar, the same as GNU tar's (issue 11 §6).
    {
      name: 'tar holding a second airlock.json after the payload',
      code: 'TAR_INVALID',
      build: (dir, ctx) => signedTar(dir, ctx, (entries) => [...entries, { path: 'airlock.json', data: Buffer.from('{"other": "manifest"}') }]),
    },
    {
      name: 'tar with a signature after the payload',
      code: 'TAR_INVALID',
      build: async (dir, ctx) => {
        const late = Buffer.from(sshSign(ctx.trusted, Buffer.from('x')));
        return signedTar(dir, ctx, (entries) => [...entries, { path: 'signatures/late.sig', data: late }]);
      },
    },
    {
      name: 'tar entry named signatures/x.sig that is a symlink',
      code: 'WRONG_TYPE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) => [
          entries[0]!,
          { path: 'signatures/x.sig', type: 'SymbolicLink', linkpath: '/etc/shadow' },
          ...entries.slice(1),
        ]),
    },
    {
      name: 'tar entry under signatures/ that is not a signature',
      code: 'UNLISTED_FILE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) => [entries[0]!, { path: 'signatures/notes.txt', data: Buffer.from('hi') }, ...entries.slice(1)]),
    },
    {
      name: 'tar with a directory entry',
      code: 'WRONG_TYPE',
      build: (dir, ctx) =>
        signedTar(dir, ctx, (entries) => [...entries.slice(0, 2), { path: 'payload/weights', type: 'Directory' }, ...entries.slice(2)]),
    },
    {
      name: 'tar with entries after a lone zero block (GNU tar stops at it)',
      code: 'TAR_INVALID',
      build: async (dir, ctx) => {
        const file = await signedTar(dir, ctx, (e) => e);
        await mutate(file, (b) =>
          Buffer.concat([b.subarray(0, b.length - 1024), Buffer.alloc(512), tarBytes([{ path: 'payload/extra', data: Buffer.from('x') }])]),
        );
        return file;
      },
    },
    {
      name: 'tar with data after its end-of-archive marker',
      code: 'TAR_INVALID',
      build: async (dir, ctx) => {
        const file = await signedTar(dir, ctx, (e) => e);
        await mutate(file, (b) => Buffer.concat([b, Buffer.from('trailing bytes no reader should see')]));
        return file;
      },
    },
    {
      name: 'truncated tar',
      code: 'TAR_INVALID',
      build: async (dir, ctx) => {
        const file = await signedTar(dir, ctx, (e) => e);
        await mutate(file, (b) => b.subarray(0, 3000));
        return file;
      },
    },
  ];
}
