// The status page's static files (ui/ at the package root), read once: only files found at start-up
// can be served, so no request path ever reaches the file system.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export interface UiAsset {
  name: string;
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(name: string): string | undefined {
  return CONTENT_TYPES[path.extname(name).toLowerCase()];
}

/** Every regular file of `dir` with a known type, by file name (the folder is flat). */
export async function loadAssets(dir: string): Promise<Map<string, UiAsset>> {
  const assets = new Map<string, UiAsset>();
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const contentType = contentTypeFor(entry.name);
    if (!entry.isFile() || !contentType || entry.name.startsWith('.')) continue;
    const body = await fsp.readFile(path.join(dir, entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(entry.name, { name: entry.name, body, contentType, etag });
  }
  return assets;
}
