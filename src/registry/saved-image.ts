// The layout of a `docker save` archive inside a bundle, read at offsets without reading the layers: which
// member is the config of the image the signed manifest pins (its bytes must hash to that image ID), and where
// each layer's bytes lie. Both the legacy layout (<id>.json, <hex>/layer.tar, duplicate layers as symlinks)
// and the OCI layout of newer engines (blobs/sha256/<hex>) are read; layers are pushed uncompressed as they
// are, so each layer's digest is the config's diff_id and the registry checks it on upload.
import path from 'node:path';
import { Header, Pax } from 'tar';
import { AirlockError } from '../errors.js';
import { sha256Hex } from '../hash/digest.js';
import { digestOf, isSha256Digest } from './reference.js';

export interface ArchiveRegion {
  /** byte offset in the file the archive is read from */
  offset: number;
  size: number;
}

export interface SavedImage {
  config: Buffer;
  configDigest: string;
  layers: Array<ArchiveRegion & { digest: string }>;
}

interface Member extends ArchiveRegion {
  type: string;
  linkpath?: string;
}

const BLOCK = 512;
const MAX_MEMBERS = 100_000;
const MAX_PAX = 64 * 1024;
const MAX_MANIFEST_JSON = 4 * 1024 * 1024;
const MAX_CONFIG = 16 * 1024 * 1024;

/** Reads into `buf` from `position` of the file the archive lies in; resolves with the bytes read. */
export type Read = (buf: Buffer, position: number) => Promise<number>;

/** Read the archive at [base, base+size) of the file `read` reads, and find image `imageId` in it. */
export async function readSavedImage(read: Read, base: number, size: number, imageId: string, origin: string): Promise<SavedImage> {
  const members = await indexMembers(read, base, size, origin);
  const bytesOf = async (name: string, max: number) => {
    const m = resolve(members, name, origin);
    if (m.size > max) throw invalid(origin, `${name} is ${m.size} bytes, over ${max}`);
    return exactly(read, m.offset, m.size, origin);
  };
  const list = parseJson(await bytesOf('manifest.json', MAX_MANIFEST_JSON), origin, 'manifest.json');
  if (!Array.isArray(list)) throw invalid(origin, 'manifest.json is not a list');
  for (const item of list as Array<{ Config?: unknown; Layers?: unknown }>) {
    if (typeof item?.Config !== 'string' || !Array.isArray(item.Layers)) continue;
    const config = await bytesOf(clean(item.Config), MAX_CONFIG);
    if (digestOf(sha256Hex(config)) !== imageId) continue;
    const doc = parseJson(config, origin, item.Config) as { rootfs?: { diff_ids?: unknown } };
    const diffIds = doc.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== item.Layers.length || !diffIds.every((d) => typeof d === 'string' && isSha256Digest(d)))
      throw invalid(origin, `the config of ${imageId} does not list one sha256 diff_id per layer`);
    const layers: SavedImage['layers'] = [];
    for (const [i, name] of (item.Layers as unknown[]).entries()) {
      if (typeof name !== 'string') throw invalid(origin, `layer ${i} of ${imageId} is not named`);
      const m = resolve(members, clean(name), origin);
      await refuseCompressed(read, m, origin, name);
      layers.push({ offset: m.offset, size: m.size, digest: diffIds[i] as string });
    }
    return { config, configDigest: imageId, layers };
  }
  throw new AirlockError('IMAGE_MISMATCH', `image archive ${origin} holds no image with ID ${imageId}`, { path: origin });
}

/** Every member's header, data skipped: at most MAX_MEMBERS, pax and GNU long names applied. */
async function indexMembers(read: Read, base: number, size: number, origin: string): Promise<Map<string, Member>> {
  const out = new Map<string, Member>();
  let pos = base;
  const end = base + size;
  let ex: Record<string, unknown> | undefined;
  let global: Record<string, unknown> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + BLOCK <= end) {
    const block = await exactly(read, pos, BLOCK, origin);
    if (block.every((b) => b === 0)) break;
    const h = new Header(block, 0, ex as never, global as never);
    if (!h.cksumValid) throw invalid(origin, `a tar header at byte ${pos - base} fails its checksum`);
    const dataSize = h.size ?? 0;
    const data = pos + BLOCK;
    const next = data + Math.ceil(dataSize / BLOCK) * BLOCK;
    if (next > end) throw invalid(origin, 'the tar ends inside a member');
    const type = h.type ?? '';
    if (type === 'ExtendedHeader' || type === 'GlobalExtendedHeader' || type === 'NextFileHasLongPath' || type === 'NextFileHasLongLinkpath') {
      if (dataSize > MAX_PAX) throw invalid(origin, `an extended header of ${dataSize} bytes`);
      const text = (await exactly(read, data, dataSize, origin)).toString('utf8');
      if (type === 'ExtendedHeader') ex = { ...Pax.parse(text, ex as never) };
      else if (type === 'GlobalExtendedHeader') global = { ...Pax.parse(text, global as never, true) };
      else if (type === 'NextFileHasLongPath') longName = text.replace(/\0.*$/s, '');
      else longLink = text.replace(/\0.*$/s, '');
      pos = next;
      continue;
    }
    const name = clean(longName ?? h.path ?? '');
    const linkpath = longLink ?? h.linkpath;
    ex = undefined;
    longName = undefined;
    longLink = undefined;
    if (out.size >= MAX_MEMBERS) throw invalid(origin, `more than ${MAX_MEMBERS} members`);
    out.set(name, { offset: data, size: dataSize, type, ...(linkpath ? { linkpath } : {}) });
    pos = next;
  }
  return out;
}

/** A member by name, following a symlink (legacy archives link duplicate layers) at most a few times. */
function resolve(members: Map<string, Member>, name: string, origin: string): Member {
  let current = name;
  for (let hops = 0; hops < 4; hops++) {
    const m = members.get(current);
    if (!m) throw invalid(origin, `has no member ${current}`);
    if (m.type === 'File' || m.type === 'OldFile' || m.type === 'ContiguousFile') return m;
    if (m.type !== 'SymbolicLink' && m.type !== 'Link') throw invalid(origin, `${current} is a ${m.type}, not a file`);
    const target = m.linkpath ?? '';
    current = m.type === 'Link' ? clean(target) : clean(path.posix.join(path.posix.dirname(current), target));
  }
  throw invalid(origin, `${name} is a chain of links`);
}

async function refuseCompressed(read: Read, m: Member, origin: string, name: string): Promise<void> {
  if (m.size < 4) return;
  const magic = await exactly(read, m.offset, 4, origin);
  if ((magic[0] === 0x1f && magic[1] === 0x8b) || magic.readUInt32BE(0) === 0x28b52ffd)
    throw invalid(origin, `layer ${name} is compressed; airlock pushes the uncompressed layers docker save writes`);
}

async function exactly(read: Read, position: number, n: number, origin: string): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = await read(buf.subarray(got), position + got);
    if (r === 0) throw invalid(origin, 'is truncated');
    got += r;
  }
  return buf;
}

function clean(name: string): string {
  return path.posix.normalize(name.replace(/^(\.\/)+/, '')).replace(/\/$/, '');
}

function parseJson(bytes: Buffer, origin: string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(origin, `${what} is not JSON`);
  }
}

function invalid(origin: string, why: string): AirlockError {
  return new AirlockError('SOURCE_INVALID', `image archive ${origin}: ${why}`, { path: origin });
}
