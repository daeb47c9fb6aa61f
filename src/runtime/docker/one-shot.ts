// Run a container to completion with its output streamed to ours, then remove it (`docker run --rm`).
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { ContainerSpec } from '../runtime.js';
import { dockerCreateOptions } from './docker-options.js';
import { dockerFailure } from './errors.js';

export interface OneShotOptions {
  /** Aborting kills the container (Ctrl-C on the CLI). */
  signal?: AbortSignal;
}

/** Returns the container's exit code. */
export async function runOneShot(
  docker: Docker,
  spec: ContainerSpec,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
  options: OneShotOptions = {},
): Promise<number> {
  let container: Docker.Container;
  try {
    container = await docker.createContainer(dockerCreateOptions(spec));
  } catch (err) {
    throw dockerFailure(err, `create container from ${spec.image}`);
  }
  const kill = () => void container.kill().catch(() => undefined);
  try {
    // Attach before start so not a line of output is missed.
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const drained = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    docker.modem.demuxStream(stream, stdout, stderr);
    options.signal?.addEventListener('abort', kill, { once: true });
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // The attach stream ends just after the exit; don't hang on an engine that keeps it open.
    await Promise.race([drained, sleep(2000, undefined, { ref: false })]);
    return StatusCode;
  } catch (err) {
    throw dockerFailure(err, `run ${spec.command?.join(' ') ?? 'container'}`);
  } finally {
    options.signal?.removeEventListener('abort', kill);
    await container.remove({ force: true }).catch(() => undefined);
  }
}
