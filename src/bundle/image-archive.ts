// Read what a `docker save` archive holds (tags and image ids) while pack copies it, without a second read.
import { createHash } from 'node:crypto';
import { Parser, type ReadEntry } from 'tar';
import { AirlockError } from '../errors.js';

/** One image listed in the archive's manifest.json. */
export interface ArchivedImage {
  repoTags: string[];
  /** `sha256:<hex>`: the sha256 of the config JSON bytes, as `docker image inspect` reports it. */
  id: string;
}

/** manifest.json and any image config are small; a bigger entry under those names is not a docker save archive. */
const MAX_MANIFEST_JSON = 4 * 1024 * 1024;
const MAX_CONFIG = 16 * 1024 * 1024;

/**
 * Feed every chunk of the archive to `write`, then `finish()`. Only manifest.json is buffered;
 * other small entries are hashed as they pass so the config named by manifest.json can be matched
 * whether it comes before or after it (legacy `<hex>.json` and OCI `blobs/sha256/<hex>` layouts).
 */
export class ImageArchiveInspector {
  private readonly parser: Parser;
  private readonly digests = new Map<string, string>();
  private manifestJson: Buffer | undefined;
  private error: Error | undefined;
  private readonly ended: Promise<void>;

  constructor(private readonly origin: string) {
    this.parser = new Parser({ strict: true });
    this.parser.on('entry', (entry: ReadEntry) => this.onEntry(entry));
    // A parse error may stop the parser before 'end'; either event settles finish().
    this.ended = new Promise((resolve) => {
      this.parser.on('end', () => resolve());
      this.parser.on('error', (err: Error) => {
        this.error ??= err;
        resolve();
      });
    });
  }

  write(chunk: Buffer): void {
    if (this.error === undefined) this.parser.write(chunk);
  }

  async finish(): Promise<ArchivedImage[]> {
    if (this.error === undefined) {
      this.parser.end();
      await this.ended;
    }
    if (this.error !== undefined) throw this.invalid(`is not a readable tar archive (${this.error.message})`);
    if (this.manifestJson === undefined) throw this.invalid('has no manifest.json; is it from docker save?');
    return this.images(this.manifestJson);
  }

  private onEntry(entry: ReadEntry): void {
    const name = entry.path.replace(/^(\.\/)+/, '');
    if (entry.type !== 'File' && entry.type !== 'OldFile') {
      entry.resume();
      return;
    }
    if (name === 'manifest.json' && entry.size <= MAX_MANIFEST_JSON) {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        this.manifestJson = Buffer.concat(chunks);
      });
    } else if (entry.size <= MAX_CONFIG && (name.endsWith('.json') || name.startsWith('blobs/'))) {
      const hash = createHash('sha256');
      entry.on('data', (c: Buffer) => hash.update(c));
      entry.on('end', () => this.digests.set(name, hash.digest('hex')));
    } else entry.resume();
  }

  private images(bytes: Buffer): ArchivedImage[] {
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw this.invalid('has a manifest.json that is not JSON');
    }
    if (!Array.isArray(doc) || doc.length === 0) throw this.invalid('has a manifest.json that lists no images');
    return doc.map((item: unknown, i) => {
      const rec = item as { Config?: unknown; RepoTags?: unknown };
      if (typeof rec?.Config !== 'string') throw this.invalid(`manifest.json entry ${i} has no Config`);
      const tags = rec.RepoTags ?? [];
      if (!Array.isArray(tags) || !tags.every((x) => typeof x === 'string')) throw this.invalid(`manifest.json entry ${i} has bad RepoTags`);
      const config = rec.Config.replace(/^(\.\/)+/, '');
      const digest = this.digests.get(config);
      if (digest === undefined) throw this.invalid(`lacks the image config ${config} named in manifest.json`);
      // Both layouts name the config by its digest; a mismatch means a damaged or doctored archive.
      const named = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(config)?.[1];
      if (named !== undefined && named !== digest) throw this.invalid(`has config ${config} whose bytes hash to ${digest}`);
      return { repoTags: tags as string[], id: `sha256:${digest}` };
    });
  }

  private invalid(why: string): AirlockError {
    return new AirlockError('SOURCE_INVALID', `image archive ${this.origin} ${why}`, { path: this.origin });
  }
}

/**
 * Which image of the archive the bundle names, and under which reference. Pure.
 * REF defaults to the image's first tag; an archive with several images needs a REF naming one of them.
 */
export function chooseImage(images: ArchivedImage[], ref: string | undefined, origin: string): { ref: string; id: string } {
  const only = images.length === 1 ? images[0] : undefined;
  if (ref !== undefined) {
    const picked = only ?? pickByTag(images, ref, origin);
    return { ref, id: picked.id };
  }
  if (!only) {
    throw new AirlockError('USAGE', `image archive ${origin} holds ${images.length} images; name one with --image-archive ${origin}=REF`, {
      path: origin,
    });
  }
  const first = only.repoTags[0];
  if (first === undefined)
    throw new AirlockError('USAGE', `image archive ${origin} has no tag; give one with --image-archive ${origin}=REF`, { path: origin });
  return { ref: first, id: only.id };
}

function pickByTag(images: ArchivedImage[], ref: string, origin: string): ArchivedImage {
  const matches = images.filter((img) => img.repoTags.includes(ref));
  const [match] = matches;
  if (matches.length !== 1 || !match) {
    throw new AirlockError('USAGE', `image archive ${origin} holds ${images.length} images and ${ref} does not name exactly one of them`, {
      path: origin,
    });
  }
  return match;
}
