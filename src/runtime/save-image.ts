// `docker save REF` through the Engine API, streamed to a file, for `airlock pack --image REF`.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { AirlockError } from '../errors.js';
import { createDockerClient } from './docker-endpoint.js';
import { dockerFailure } from './docker-errors.js';
import { imageId } from './image-store.js';

/** Write the image's `docker save` archive to `file`; returns the image ID the engine reports for REF. */
export async function saveImageArchive(ref: string, file: string, env: NodeJS.ProcessEnv): Promise<string> {
  const docker = createDockerClient(env);
  const id = await imageId(docker, ref);
  if (id === undefined) throw new AirlockError('IMAGE_MISSING', `the engine has no image ${ref}; pull it first (docker pull ${ref})`, { path: ref });
  try {
    await pipeline(await docker.getImage(ref).get(), createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    throw dockerFailure(err, `save image ${ref}`, 'IMAGE_MISSING');
  }
  return id;
}
