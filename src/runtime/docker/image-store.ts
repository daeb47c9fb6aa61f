// Images by ID: reuse one the engine already has, else load the bundle's `docker save` archive and
// prove it held the image the manifest names.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type Docker from 'dockerode';
import { AirlockError } from '../../errors.js';
import { dockerFailure, isNotFound } from './errors.js';
import type { ImageSpec, RegistryAuthLookup } from '../runtime.js';

/** The image's ID when the engine has it, else undefined. */
export async function imageId(docker: Docker, nameOrId: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(nameOrId).inspect()).Id;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw dockerFailure(err, `inspect image ${nameOrId}`);
  }
}

export async function ensureImage(docker: Docker, image: ImageSpec, auth?: RegistryAuthLookup): Promise<{ loaded: boolean }> {
  // By ID only: a tag may have been moved to another image on this host.
  if ((await imageId(docker, image.id)) === image.id) return { loaded: false };
  if (image.archivePath === undefined && image.pull !== undefined) {
    await pullByDigest(docker, image.pull, auth);
    if ((await imageId(docker, image.id)) !== image.id) {
      const got = await imageId(docker, image.pull);
      throw new AirlockError(
        'IMAGE_MISMATCH',
        `${image.pull} is image ${got ?? '(none)'}, not ${image.id} as the signed manifest pins for ${image.ref}`,
        {
          path: image.pull,
        },
      );
    }
    return { loaded: true };
  }
  if (image.archivePath === undefined) {
    throw new AirlockError('IMAGE_MISSING', `image ${image.ref} (${image.id}) is not in the engine and no archive was given`);
  }
  try {
    await access(image.archivePath);
  } catch (err) {
    throw new AirlockError('IMAGE_MISSING', `image archive ${image.archivePath} cannot be read`, { path: image.archivePath, cause: err });
  }
  const loaded = await loadArchive(docker, image.archivePath);
  if ((await imageId(docker, image.id)) !== image.id) {
    const found = await describeLoaded(docker, loaded);
    throw new AirlockError(
      'IMAGE_MISMATCH',
      `archive ${image.archivePath} did not hold ${image.ref} with ID ${image.id}; it held ${found || 'nothing the engine reported'}`,
      { path: image.archivePath },
    );
  }
  return { loaded: true };
}

/** POST /images/load; returns what the engine reported loading ("Loaded image: ref" / "Loaded image ID: sha256:…"). */
async function loadArchive(docker: Docker, archivePath: string): Promise<string[]> {
  let response: NodeJS.ReadableStream;
  try {
    response = await docker.loadImage(createReadStream(archivePath), { quiet: true });
  } catch (err) {
    throw dockerFailure(err, `load image archive ${archivePath}`, 'IMAGE_MISMATCH');
  }
  const messages = await new Promise<Array<{ stream?: string; error?: string; errorDetail?: { message?: string } }>>((resolve, reject) => {
    docker.modem.followProgress(response, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out as never)));
  }).catch((err: unknown) => {
    throw dockerFailure(err, `load image archive ${archivePath}`, 'IMAGE_MISMATCH');
  });
  const failed = messages.find((m) => m.error !== undefined || m.errorDetail !== undefined);
  if (failed) {
    throw new AirlockError('IMAGE_MISMATCH', `the engine refused image archive ${archivePath}: ${failed.errorDetail?.message ?? failed.error}`, {
      path: archivePath,
    });
  }
  return messages
    .flatMap((m) => (m.stream ?? '').split('\n'))
    .map((line) => /^Loaded image(?: ID)?: (.+)$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
}

async function describeLoaded(docker: Docker, names: string[]): Promise<string> {
  const parts: string[] = [];
  for (const name of names) {
    const id = name.startsWith('sha256:') ? name : await imageId(docker, name);
    parts.push(id && id !== name ? `${name} (${id})` : name);
  }
  return parts.join(', ');
}

/**
 * POST /images/create for `HOST/REPOSITORY@sha256:…`: the engine fetches it from the registry and checks the
 * manifest digest and each layer's diff_id itself; the caller then holds the image ID to the signed manifest.
 */
async function pullByDigest(docker: Docker, reference: string, auth: RegistryAuthLookup | undefined): Promise<void> {
  if (!/^[^\s@/]+\/[^\s@]+@sha256:[0-9a-f]{64}$/.test(reference))
    throw new AirlockError('IMAGE_MISSING', `${JSON.stringify(reference)} is not an image reference by digest`, { path: reference });
  const host = reference.slice(0, reference.indexOf('/'));
  const authconfig = await auth?.(host);
  let response: NodeJS.ReadableStream;
  try {
    response = (await docker.pull(reference, authconfig ? { authconfig } : {})) as NodeJS.ReadableStream;
  } catch (err) {
    throw dockerFailure(err, `pull ${reference}`, 'IMAGE_MISSING');
  }
  const messages = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) => {
    docker.modem.followProgress(response, (err: Error | null, out: unknown[]) => (err ? reject(err) : resolve(out as never)));
  }).catch((err: unknown) => {
    throw dockerFailure(err, `pull ${reference}`, 'IMAGE_MISSING');
  });
  const failed = messages.find((m) => m.error !== undefined || m.errorDetail !== undefined);
  if (failed)
    throw new AirlockError('IMAGE_MISSING', `the engine could not pull ${reference}: ${failed.errorDetail?.message ?? failed.error}`, {
      path: reference,
    });
}
