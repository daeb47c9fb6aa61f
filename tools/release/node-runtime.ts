// The Node.js runtime the release carries: the build machine's own binary, checked, with its license text.
import { constants } from 'node:fs';
import { access, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../src/errors.js';

export const MIN_NODE_MAJOR = 20;

export interface NodeRuntime {
  /** The binary to copy (symlinks resolved: nvm and Debian's alternatives point at the real one). */
  binary: string;
  /** e.g. v20.20.2 */
  version: string;
  license: string;
}

/** Where a Node.js install keeps its LICENSE, nearest first: the official tarball, distribution packages. */
export function licenseCandidates(binary: string): string[] {
  const prefix = path.dirname(path.dirname(binary));
  return [
    path.join(prefix, 'LICENSE'),
    path.join(prefix, 'share', 'doc', 'node', 'LICENSE'),
    path.join(prefix, 'share', 'doc', 'nodejs', 'LICENSE'),
    '/usr/share/doc/nodejs/LICENSE',
    '/usr/share/doc/nodejs/copyright',
  ];
}

export function checkNodeVersion(version: string): void {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (!(major >= MIN_NODE_MAJOR)) {
    throw new AirlockError('RELEASE_INVALID', `this Node.js is ${version}; the release bundles the runtime it is built with, and airlock needs ${MIN_NODE_MAJOR} or later`);
  }
}

export async function findNodeRuntime(execPath: string, version: string, licenseOverride?: string): Promise<NodeRuntime> {
  checkNodeVersion(version);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new AirlockError('RELEASE_INVALID', `the release is linux-x64 (amd64) and bundles this machine's node, which is ${process.platform}-${process.arch}`);
  }
  const binary = await realpath(execPath);
  if (licenseOverride !== undefined) {
    if (!(await readable(licenseOverride))) throw new AirlockError('USAGE', `--node-license ${licenseOverride} is not a readable file`, { path: '--node-license' });
    return { binary, version, license: licenseOverride };
  }
  for (const candidate of licenseCandidates(binary)) {
    if (await readable(candidate)) return { binary, version, license: candidate };
  }
  throw new AirlockError(
    'RELEASE_INVALID',
    `no license text for the Node.js runtime ${binary} (looked in ${licenseCandidates(binary).join(', ')}); its license must ship with it: give it with --node-license FILE`,
    { path: '--node-license' },
  );
}

async function readable(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
