// The .deb's text files: DEBIAN/control, the copyright file and the changelog. Pure.
import type { ModuleInfo } from './production-modules.js';

export interface ControlInput {
  debVersion: string;
  maintainer: string;
  /** dpkg-shlibdeps's answer for the ELF files (node, the addons), e.g. "libc6 (>= 2.34), libstdc++6 (>= 5.2)" */
  shlibsDepends: string;
  /** KiB, as dpkg counts it */
  installedSize: number;
}

export function controlText(c: ControlInput): string {
  return [
    'Package: airlock',
    `Version: ${c.debVersion}`,
    'Architecture: amd64',
    `Maintainer: ${c.maintainer}`,
    `Installed-Size: ${c.installedSize}`,
    // adduser: postinst creates the system user and groups. No nodejs: the package carries its own runtime.
    `Depends: adduser, ${c.shlibsDepends}`,
    'Suggests: docker.io | docker-ce',
    'Section: admin',
    'Priority: optional',
    'Description: carry NVIDIA NIM model deployments across an air gap',
    ' airlock packs NIM caches, model stores and model folders with their container',
    ' images into bundles signed with OpenSSH ed25519 keys, verifies them file by',
    ' file, and installs them into a content-addressed store with atomic',
    ' activation and rollback. Its daemon watches drop folders and removable media,',
    ' installs what arrives and satisfies the pinned allowed_signers file, and',
    ' starts the model in its NIM container with Docker.',
    ' .',
    ' This package installs airlock with its own Node.js runtime in /opt/airlock',
    ' and needs no network, at install time or ever after.',
    '',
  ].join('\n');
}

/** Sizes rounded up to KiB per file, one KiB per folder or link: what dpkg-gencontrol would write. */
export function installedSizeKiB(entries: { dir: boolean; link?: true; size: number }[]): number {
  return entries.reduce((sum, e) => sum + (e.dir || e.link ? 1 : Math.max(1, Math.ceil(e.size / 1024))), 0);
}

export interface CopyrightInput {
  year: number;
  nodeVersion: string;
  modules: ModuleInfo[];
}

/** machine-readable debian/copyright (DEP-5), pointing at the license texts the tree carries. */
export function copyrightText({ year, nodeVersion, modules }: CopyrightInput): string {
  const moduleLines = [...modules]
    .sort((a, b) => (a.rel < b.rel ? -1 : 1))
    .map((m) => ` ${m.name} ${m.version}: ${m.license}`);
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: airlock',
    'Comment: Built by `npm run release` from the airlock sources.',
    '',
    'Files: *',
    `Copyright: ${year} the airlock authors`,
    'License: Apache-2.0',
    '',
    'Files: opt/airlock/node/*',
    'Copyright: Node.js contributors and the authors of the libraries it includes',
    'License: Node.js',
    ` The Node.js ${nodeVersion} runtime, copied unchanged from the build machine.`,
    ' Its license, with those of the libraries it includes (OpenSSL, zlib, ICU,',
    ' V8, libuv and others), is /opt/airlock/node/LICENSE.',
    '',
    'Files: opt/airlock/node_modules/*',
    'Copyright: the authors of each package',
    'License: npm-packages',
    ' The production npm dependencies, each with its own license file in its',
    ' folder under /opt/airlock/node_modules. Package, version and license:',
    ...moduleLines,
    '',
    'License: Apache-2.0',
    ' Licensed under the Apache License, Version 2.0 (the "License"); you may not',
    ' use this file except in compliance with the License.',
    ' .',
    ' On Debian systems, the complete text of the Apache License, Version 2.0,',
    ' is in /usr/share/common-licenses/Apache-2.0 (and in /opt/airlock/LICENSE).',
    '',
  ].join('\n');
}

export function changelogText(debVersion: string, maintainer: string, date: Date): string {
  return [
    `airlock (${debVersion}) unstable; urgency=medium`,
    '',
    `  * airlock ${debVersion}, built by npm run release.`,
    '',
    ` -- ${maintainer}  ${rfc2822(date)}`,
    '',
  ].join('\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function rfc2822(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
