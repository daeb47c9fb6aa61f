// Names of the release artifacts and of the folder inside them, from package.json's version. Pure.
import { AirlockError } from '../../src/errors.js';

/** The SSHSIG namespace of SHA256SUMS.sig: never "airlock" (bundles), so neither signature replays as the other. */
export const RELEASE_NAMESPACE = 'airlock-release';
export const SUMS_FILE = 'SHA256SUMS';
export const SIG_FILE = 'SHA256SUMS.sig';
/** Where the .deb puts the tree; the tarball's instructions use the same path. */
export const INSTALL_DIR = '/opt/airlock';

export interface ReleaseNames {
  version: string;
  /** Debian's spelling of the version (a semver pre-release `-rc.1` sorts before the release as `~rc.1`). */
  debVersion: string;
  /** `airlock-VERSION-linux-x64`: the tarball's one top folder. */
  topDir: string;
  tarball: string;
  deb: string;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

export function releaseNames(version: string): ReleaseNames {
  if (!SEMVER.test(version)) throw new AirlockError('RELEASE_INVALID', `package.json version ${JSON.stringify(version)} is not a semantic version`, { path: 'package.json' });
  const topDir = `airlock-${version}-linux-x64`;
  const debVersion = debianVersion(version);
  return { version, debVersion, topDir, tarball: `${topDir}.tar.gz`, deb: `airlock_${debVersion}_amd64.deb` };
}

/** 1.2.0-rc.1+b5 → 1.2.0~rc.1+b5: a native Debian version has no hyphen, and `~` sorts before the release. */
export function debianVersion(version: string): string {
  const m = SEMVER.exec(version);
  if (!m) throw new AirlockError('RELEASE_INVALID', `not a semantic version: ${version}`);
  const pre = m[4] === undefined ? '' : `~${m[4].replace(/-/g, '.')}`;
  const build = m[5] === undefined ? '' : `+${m[5].replace(/-/g, '.')}`;
  return `${m[1]}.${m[2]}.${m[3]}${pre}${build}`;
}
