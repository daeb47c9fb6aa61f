// The status page as a fastify plugin: `/` is the page, `/ui/NAME` its scripts and styles.
// Files ship as-is in ui/ at the package root (plain ES modules, no build step).
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AirlockError } from '../../errors.js';
import { PACKAGE_ROOT } from '../../util/schemas.js';
import { loadAssets, type UiAsset } from './assets.js';
import { UI_SECURITY_HEADERS } from './security-headers.js';

export { UI_CONTENT_SECURITY_POLICY } from './security-headers.js';

export const UI_DIR = path.join(PACKAGE_ROOT, 'ui');

export interface UiOptions {
  /** Folder holding index.html and its assets (default ui/ at the package root). */
  dir?: string;
}

/**
 * Register GET / and GET /ui/* on `app`. The daemon calls it as an ApiExtension `(app, view)`, so the
 * second argument may be its view: only a string `dir` in it is taken.
 */
export async function registerUi(app: FastifyInstance, opts: UiOptions = {}): Promise<void> {
  const dir = typeof opts.dir === 'string' ? opts.dir : UI_DIR;
  const assets = await loadAssets(dir);
  const index = assets.get('index.html');
  if (!index) throw new AirlockError('INTERNAL', `the status page is missing: no index.html in ${dir}`, { path: dir });
  app.get('/', (req, reply) => send(req, reply, index));
  app.get<{ Params: { '*': string } }>('/ui/*', (req, reply) => {
    const asset = assets.get(req.params['*']);
    if (!asset)
      return reply
        .code(404)
        .headers(UI_SECURITY_HEADERS)
        .send({ code: 'NOT_FOUND', message: `no page asset ${req.params['*']}` });
    return send(req, reply, asset);
  });
}

function send(req: FastifyRequest, reply: FastifyReply, asset: UiAsset): FastifyReply {
  reply.headers(UI_SECURITY_HEADERS).header('etag', asset.etag);
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.contentType).send(asset.body);
}
