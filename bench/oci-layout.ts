// The benchmark bundle as an OCI image layout (image-spec "OCI Image Layout"), for `skopeo copy oci:…`: the
// very artifact airlock publish pushes (src/registry/artifact.ts), its blobs hard links to the bundle's payload
// files, so skopeo reads the same bytes from the same disk. Built once, outside any timing.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseManifest, manifestDigest, isSymlink } from '../src/format/manifest.js';
import { sha256Hex } from '../src/hash/digest.js';
import { bundleArtifact } from '../src/registry/artifact.js';
import { OCI_INDEX, OCI_MANIFEST } from '../src/registry/media-types.js';

export const LAYOUT_TAG = 'bench';

export async function writeOciLayout(bundleDir: string, layout: string): Promise<void> {
  const bytes = await fsp.readFile(path.join(bundleDir, 'airlock.json'));
  const m = parseManifest(bytes);
  const blobs = path.join(layout, 'blobs', 'sha256');
  await fsp.mkdir(blobs, { recursive: true });
  const put = async (hex: string, from: string | Buffer) => {
    const to = path.join(blobs, hex);
    if (await fsp.lstat(to).catch(() => undefined)) return;
    if (typeof from === 'string') await fsp.link(from, to).catch(() => fsp.copyFile(from, to));
    else await fsp.writeFile(to, from);
  };
  for (const f of m.files) if (!isSymlink(f) && !f.omitted) await put(f.sha256, path.join(bundleDir, 'payload', ...f.path.split('/')));
  const digest = manifestDigest(bytes);
  await put(digest, bytes);
  const artifact = bundleArtifact(bytes, digest, m, {});
  await put(sha256Hex(artifact), artifact);
  await fsp.writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fsp.writeFile(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: `sha256:${sha256Hex(artifact)}`,
          size: artifact.length,
          annotations: { 'org.opencontainers.image.ref.name': LAYOUT_TAG },
        },
      ],
    }),
  );
}
