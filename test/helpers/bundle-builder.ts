// Build bundles by hand in tests, independent of `airlock pack`: exact manifests, real ssh-keygen
// signatures (helpers/keys.ts), and tar archives assembled header by header so hostile shapes can be made.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Header } from 'tar';
import { sshSign, type TestKey } from './keys.js';

export interface SourceFile {
  path: string;
  data?: Buffer;
  target?: string;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A manifest object listing `files` with their real sizes and hashes. */
export function manifestFor(files: SourceFile[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'airlock.bundle/v1',
    id: 'test-bundle-1',
    name: 'test/model',
    kind: 'model-dir',
    channel: 'stable',
    sequence: 1,
    created: '2026-01-01T00:00:00Z',
    profiles: [],
    images: [],
    files: files.map((f) =>
      f.target !== undefined ? { path: f.path, type: 'symlink', target: f.target } : { path: f.path, size: f.data!.length, sha256: sha256(f.data!) },
    ),
    ...overrides,
  };
}

export const defaultFiles = (): SourceFile[] => [
  { path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}\n') },
  { path: 'weights/model-00001-of-00001.safetensors', data: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)) },
  { path: 'tokenizer.json', data: Buffer.from('{"version":"1.0"}\n') },
  { path: 'latest', target: 'config.json' },
];

export interface DirBundleSpec {
  files?: SourceFile[];
  manifest?: Record<string, unknown>;
  /** raw manifest bytes, to bypass serialisation (oversized, malformed) */
  manifestBytes?: Buffer;
  signers?: Array<Pick<TestKey, 'privatePath'>>;
  namespace?: string;
}

/** Write a directory bundle: airlock.json, payload/ (no symlinks), signatures/ by ssh-keygen. */
export async function writeDirBundle(dir: string, spec: DirBundleSpec = {}): Promise<{ dir: string; manifestBytes: Buffer }> {
  const files = spec.files ?? defaultFiles();
  const manifestBytes = spec.manifestBytes ?? Buffer.from(JSON.stringify(spec.manifest ?? manifestFor(files), null, 2) + '\n');
  await fsp.mkdir(path.join(dir, 'payload'), { recursive: true });
  await fsp.mkdir(path.join(dir, 'signatures'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'airlock.json'), manifestBytes);
  for (const f of files) {
    if (f.data === undefined) continue;
    const dest = path.join(dir, 'payload', f.path);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.writeFile(dest, f.data);
  }
  for (const [i, key] of (spec.signers ?? []).entries()) {
    await fsp.writeFile(path.join(dir, 'signatures', `signer${i}.sig`), sshSign(key, manifestBytes, spec.namespace));
  }
  return { dir, manifestBytes };
}

export interface TarEntrySpec {
  path: string;
  type?: 'File' | 'Directory' | 'Link' | 'SymbolicLink' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  data?: Buffer;
  linkpath?: string;
  /** size written in the header, when it should lie */
  size?: number;
}

/** A tar archive assembled header by header (node-tar's Header), so any entry type and order can be made. */
export function tarBytes(entries: TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const type = e.type ?? 'File';
    const h = new Header({
      path: type === 'Directory' && !e.path.endsWith('/') ? `${e.path}/` : e.path,
      type,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size: e.size ?? (type === 'File' ? data.length : 0),
      mtime: new Date('2026-01-01T00:00:00Z'),
      uid: 0,
      gid: 0,
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The entries of a tar bundle for `files`, in airlock's order: manifest, signatures, payload. */
export function tarBundleEntries(manifestBytes: Buffer, signatures: Buffer[], files: SourceFile[]): TarEntrySpec[] {
  return [
    { path: 'airlock.json', data: manifestBytes },
    ...signatures.map((data, i) => ({ path: `signatures/signer${i}.sig`, data })),
    ...files.filter((f) => f.data !== undefined).map((f) => ({ path: `payload/${f.path}`, data: f.data! })),
  ];
}
