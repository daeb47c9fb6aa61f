// A deployment already installed in a store, read back as a bundle (airlock publish --deployment): the manifest
// and the signature files it arrived with are kept as content, the payload is the deployment's tree, the image
// archives are content. It is judged like any other source (signatures, then every byte hashed): a store is
// trusted for what it committed, and publish still verifies before anything reaches a registry.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import { MAX_SIGNATURE_BYTES, PAYLOAD_DIR, SIGNATURES_DIR } from '../format/layout.js';
import { carriedFiles, manifestDigest, parseManifest, type Manifest } from '../format/manifest.js';
import { openRegular, readSmallRegular } from '../safe-fs/open-regular.js';
import { blobPath } from '../store/content.js';
import { storePath } from '../store/layout.js';
import { readState } from '../store/state-file.js';
import { findModel, type DeploymentRecord } from '../store/state.js';
import { DEFAULT_READ_LIMITS, type BundleEntry, type BundleHeader, type BundleSource, type OpenedBundle } from './source.js';

/** The current deployment of `name` in `store`, or the kept one whose bundle id or manifest digest is `which`. */
export function storeSource(store: string, name: string, which?: string): BundleSource {
  const location = `${path.resolve(store)}#${name}${which ? `@${which}` : ''}`;
  return {
    location,
    async open(limits = DEFAULT_READ_LIMITS): Promise<BundleHeader> {
      const abs = path.resolve(store);
      const record = pick(await readState(abs), name, which);
      const manifestBytes = await readSmallRegular(
        blobPath(abs, record.manifestDigest),
        `manifest of ${record.bundleId}`,
        limits.maxManifestBytes,
        'MANIFEST_TOO_LARGE',
      );
      if (manifestDigest(manifestBytes) !== record.manifestDigest)
        throw new AirlockError('STORE_INVALID', `the kept manifest of ${record.bundleId} does not hash to ${record.manifestDigest}`, {
          path: record.bundleId,
        });
      if (record.signatures === undefined)
        throw new AirlockError(
          'NO_SIGNATURES',
          `deployment ${record.bundleId} was installed before airlock kept signatures in the store; publish the bundle it came from instead`,
          { path: record.bundleId },
        );
      const signatures = [];
      for (const sig of record.signatures)
        signatures.push({
          name: `${SIGNATURES_DIR}/${sig.name}`,
          bytes: await readSmallRegular(blobPath(abs, sig.sha256), `signature ${sig.name}`, MAX_SIGNATURE_BYTES, 'SIGNATURE_MALFORMED'),
        });
      const base = { form: 'store' as const, location, manifestBytes, digest: record.manifestDigest, signatures, close: async () => undefined };
      return {
        ...base,
        parse(): OpenedBundle {
          const manifest = parseManifest(manifestBytes, { maxBytes: limits.maxManifestBytes });
          const imagePulls = Object.fromEntries(
            manifest.images.flatMap((img, i) => {
              const pull = record.images[i]?.pull;
              return pull === undefined ? [] : [[img.archive, pull]];
            }),
          );
          return {
            ...base,
            manifest,
            ...(Object.keys(imagePulls).length ? { imagePulls } : {}),
            entries: () => deploymentEntries(abs, record, manifest, new Set(Object.keys(imagePulls))),
          };
        },
      };
    },
  };
}

function pick(state: Awaited<ReturnType<typeof readState>>, name: string, which: string | undefined): DeploymentRecord {
  const model = findModel(state, name);
  const record = which === undefined ? model?.deployments[0] : model?.deployments.find((d) => d.bundleId === which || d.manifestDigest === which);
  if (!record)
    throw new AirlockError('NO_SUCH_DEPLOYMENT', `the store holds no deployment ${which ? `${which} ` : ''}of ${name}`, { path: which ?? name });
  return record;
}

async function* deploymentEntries(store: string, d: DeploymentRecord, m: Manifest, pulled: ReadonlySet<string>): AsyncGenerator<BundleEntry> {
  const tree = storePath(store, d.dir);
  for (const f of carriedFiles(m)) {
    const rel = `${PAYLOAD_DIR}/${f.path}`;
    yield { path: rel, kind: 'file', size: f.size, open: () => opened(path.join(tree, ...f.path.split('/')), rel) };
  }
  for (const img of m.images) {
    if (pulled.has(img.archive)) continue;
    yield { path: img.archive, kind: 'file', size: img.size, open: () => opened(blobPath(store, img.sha256), img.archive) };
  }
}

async function opened(file: string, shownAs: string) {
  const { fh } = await openRegular(file, shownAs);
  return { fd: fh.fd, release: () => fh.close() };
}
