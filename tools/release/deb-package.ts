// The .deb: the release tree as /opt/airlock plus the Debian pieces around it, built by dpkg-deb.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { copyFile, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { changelogText, controlText, copyrightText, installedSizeKiB } from './deb-control.js';
import { normalizeTree, type TreeEntry } from './normalize-tree.js';
import type { ModuleInfo } from './production-modules.js';
import { INSTALL_DIR } from './release-layout.js';
import { runTool } from './run-tool.js';
import { BASH_COMPLETION, MAN_DIR, ZSH_COMPLETION } from './share-files.js';

export interface DebInput {
  /** The staged release tree; moved (not copied) into the package root. */
  tree: string;
  /** An empty folder to build the package root in. */
  work: string;
  /** The clone: tools/release/deb/ holds the maintainer scripts, conffiles and lintian overrides. */
  root: string;
  outFile: string;
  debVersion: string;
  maintainer: string;
  epoch: number;
  nodeVersion: string;
  modules: ModuleInfo[];
  compression: DebCompression;
}

/** xz (dpkg's default, the smallest) or gzip (a fifth of the CPU time, half again as large: test builds). */
export type DebCompression = 'xz' | 'gzip';

const TEMPLATES = ['postinst', 'prerm', 'postrm'];

export async function buildDeb(d: DebInput): Promise<void> {
  const pkg = path.join(d.work, 'root');
  const templates = path.join(d.root, 'tools', 'release', 'deb');
  await mkdir(path.join(pkg, path.dirname(INSTALL_DIR.slice(1))), { recursive: true });
  await rename(d.tree, path.join(pkg, INSTALL_DIR.slice(1)));
  const opt = path.join(pkg, INSTALL_DIR.slice(1));

  await place(pkg, 'usr/bin');
  // Absolute: Debian policy 10.5 wants links between top-level folders absolute.
  await symlink(`${INSTALL_DIR}/bin/airlock`, path.join(pkg, 'usr/bin/airlock'));
  await place(pkg, 'lib/systemd/system');
  await copyFile(path.join(opt, 'systemd', 'airlock.service'), path.join(pkg, 'lib/systemd/system/airlock.service'));
  await place(pkg, 'etc/airlock');
  await copyFile(path.join(opt, 'systemd', 'airlock.example.json'), path.join(pkg, 'etc/airlock/config.json'));
  await place(pkg, 'var/spool/airlock/drop');
  const doc = await place(pkg, 'usr/share/doc/airlock');
  await writeFile(path.join(doc, 'copyright'), copyrightText({ year: new Date(d.epoch * 1000).getUTCFullYear(), nodeVersion: d.nodeVersion, modules: d.modules }));
  await writeFile(path.join(doc, 'changelog.gz'), gzipSync(changelogText(d.debVersion, d.maintainer, new Date(d.epoch * 1000)), { level: 9 }));
  await moveShareFiles(opt, pkg);
  const overrides = await place(pkg, 'usr/share/lintian/overrides');
  await copyFile(path.join(templates, 'lintian-overrides'), path.join(overrides, 'airlock'));

  // The tree under opt/ was checked when it was staged; this pass covers what was added around it.
  const entries = await normalizeTree(pkg, d.epoch, false);
  const control = await place(pkg, 'DEBIAN');
  const conffiles = await readFile(path.join(templates, 'conffiles'), 'utf8');
  await writeFile(path.join(control, 'conffiles'), conffiles);
  await writeFile(path.join(control, 'md5sums'), await md5sums(pkg, entries, new Set(conffiles.split('\n').filter(Boolean))));
  for (const t of TEMPLATES) await copyFile(path.join(templates, t), path.join(control, t));
  const shlibsDepends = await shlibDepends(d.work, [path.join(opt, 'node/bin/node'), ...entries.filter((e) => e.rel.endsWith('.node')).map((e) => path.join(pkg, e.rel))]);
  await writeFile(path.join(control, 'control'), controlText({ debVersion: d.debVersion, maintainer: d.maintainer, shlibsDepends, installedSize: installedSizeKiB(entries) }));
  await normalizeTree(control, d.epoch, false);
  // --root-owner-group: every file root:root whoever builds; SOURCE_DATE_EPOCH: the ar members' times.
  await runTool('dpkg-deb', ['--build', '--root-owner-group', `-Z${d.compression}`, pkg, d.outFile], { env: { ...process.env, SOURCE_DATE_EPOCH: String(d.epoch) }, providedBy: 'dpkg' });
}

/**
 * The tree's share/ (share-files.ts) where Debian looks for it: man pages gzipped into /usr/share/man/man1, the
 * completion scripts into /usr/share/bash-completion and /usr/share/zsh/vendor-completions.
 */
async function moveShareFiles(opt: string, pkg: string): Promise<void> {
  const man = await place(pkg, `usr/${MAN_DIR}`);
  for (const page of await readdir(path.join(opt, MAN_DIR))) {
    await writeFile(path.join(man, `${page}.gz`), gzipSync(await readFile(path.join(opt, MAN_DIR, page)), { level: 9 }));
  }
  for (const rel of [BASH_COMPLETION, ZSH_COMPLETION]) {
    await place(pkg, `usr/${path.dirname(rel)}`);
    await rename(path.join(opt, rel), path.join(pkg, 'usr', rel));
  }
  await rm(path.join(opt, 'share'), { recursive: true });
}

async function place(pkg: string, rel: string): Promise<string> {
  const dir = path.join(pkg, rel);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** DEBIAN/md5sums (what dpkg --verify checks): every file but the conffiles, whose sums dpkg keeps itself. */
async function md5sums(pkg: string, entries: TreeEntry[], conffiles: Set<string>): Promise<string> {
  const lines: string[] = [];
  for (const e of entries) {
    if (e.dir || e.link || conffiles.has(`/${e.rel}`) || e.rel.startsWith('DEBIAN/')) continue;
    const sum = createHash('md5').update(await readFile(path.join(pkg, e.rel))).digest('hex');
    lines.push(`${sum}  ${e.rel}\n`);
  }
  return lines.sort((a, b) => (a.slice(34) < b.slice(34) ? -1 : 1)).join('');
}

/** Ask dpkg-shlibdeps which library packages the ELF files need (it wants a debian/control to read). */
async function shlibDepends(work: string, elfFiles: string[]): Promise<string> {
  const dir = path.join(work, 'shlibdeps');
  await mkdir(path.join(dir, 'debian'), { recursive: true });
  await writeFile(path.join(dir, 'debian', 'control'), 'Source: airlock\n\nPackage: airlock\nArchitecture: amd64\n');
  const { stdout } = await runTool('dpkg-shlibdeps', ['-O', ...elfFiles.map((f) => `-e${f}`)], { cwd: dir, providedBy: 'dpkg-dev' });
  const m = /^shlibs:Depends=(.+)$/m.exec(stdout);
  return m?.[1]?.trim() ?? 'libc6';
}
