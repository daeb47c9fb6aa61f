// The BUNDLE argument: a path, or `-` for a tar on standard input (verify, inspect, install).
import path from 'node:path';
import { fileSystemSource } from '../bundle/fs-source.js';
import type { BundleSource } from '../bundle/source.js';
import { streamSource } from '../bundle/stream-source.js';
import { AirlockError } from '../errors.js';
import type { CliIO } from './command.js';

export const STDIN_NAME = 'standard input';

export const BUNDLE_ARGUMENT = {
  name: 'BUNDLE',
  complete: 'file',
  description:
    'a bundle directory, a *.airlock.tar, a *.airlock.parts.json index or its first part; or - for a tar read from standard input as it streams (only the signatures inside the tar count then)',
} as const;

/** `-` reads standard input, which must not be a terminal; anything else is a path (relative to `io.cwd` when `resolve`). */
export function bundleSource(arg: string, io: CliIO, command: string, resolve = true): BundleSource {
  if (arg !== '-') return fileSystemSource(resolve ? path.resolve(io.cwd, arg) : arg);
  if (io.stdin.isTTY) {
    throw new AirlockError(
      'USAGE',
      `BUNDLE - reads a tar from standard input, which is a terminal; pipe one in: ssh host cat x.airlock.tar | airlock ${command} - …`,
      {
        path: 'BUNDLE',
      },
    );
  }
  return streamSource(STDIN_NAME, io.stdin as AsyncIterable<Buffer>);
}
