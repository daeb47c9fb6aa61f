// The production dependencies, exactly as npm resolved them in node_modules: listed by `npm ls --omit=dev`
// (offline: it reads node_modules and the lockfile), copied package by package, pruned, then checked.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../src/errors.js';
import { copyTree } from './copy-tree.js';
import { runTool } from './run-tool.js';
import { isPrunedInPackage } from './tree-rules.js';

export interface ModuleInfo {
  /** e.g. node_modules/fastify/node_modules/cookie */
  rel: string;
  name: string;
  version: string;
  license: string;
}

/** Package folders relative to `root` (`node_modules/…`), as `npm ls --parseable` lists them. */
async function npmLs(root: string, omitDev: boolean): Promise<string[]> {
  const args = ['ls', '--all', '--parseable', ...(omitDev ? ['--omit=dev'] : [])];
  const { stdout } = await runTool('npm', args, { cwd: root, providedBy: 'npm' }).catch((err: unknown) => {
    throw new AirlockError('RELEASE_INVALID', `npm ls found node_modules incomplete or not as the lockfile says; run npm ci first (${(err as Error).message})`, { cause: err });
  });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && path.resolve(l) !== path.resolve(root))
    .map((l) => path.relative(root, l).split(path.sep).join('/'))
    .sort();
}

export async function listProductionModules(root: string): Promise<{ production: string[]; devOnly: string[] }> {
  const production = await npmLs(root, true);
  const all = await npmLs(root, false);
  const prod = new Set(production);
  return { production, devOnly: all.filter((p) => !prod.has(p)) };
}

/** The package-relative folders holding a binding.gyp (node-gyp addons), found without descending into node_modules. */
async function gypDirs(dir: string, rel = '', found = new Set<string>()): Promise<Set<string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() && e.name === 'binding.gyp') found.add(rel);
    if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')) await gypDirs(path.join(dir, e.name), rel ? `${rel}/${e.name}` : e.name, found);
  }
  return found;
}

/** Copy each production package (without its nested node_modules: those are packages of their own). */
export async function copyProductionModules(root: string, dest: string, packages: string[]): Promise<ModuleInfo[]> {
  const infos: ModuleInfo[] = [];
  for (const rel of packages) {
    const from = path.join(root, rel);
    const gyp = await gypDirs(from);
    await copyTree(from, path.join(dest, rel), (r, isDir) => (isDir && r === 'node_modules') || isPrunedInPackage(r, isDir, gyp));
    const pkg = JSON.parse(await readFile(path.join(from, 'package.json'), 'utf8')) as { name?: string; version?: string; license?: unknown };
    infos.push({ rel, name: pkg.name ?? rel, version: pkg.version ?? '?', license: typeof pkg.license === 'string' ? pkg.license : 'see the package' });
  }
  return infos;
}

/** Every package folder under `tree`/node_modules (any depth), relative to `tree`. */
export async function stagedPackages(tree: string, rel = 'node_modules', found: string[] = []): Promise<string[]> {
  const dir = path.join(tree, rel);
  if (!existsSync(dir)) return found;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const names = e.name.startsWith('@') ? (await readdir(path.join(dir, e.name))).map((n) => `${e.name}/${n}`) : [e.name];
    for (const n of names) {
      const pkg = `${rel}/${n}`;
      if (existsSync(path.join(tree, pkg, 'package.json'))) found.push(pkg);
      await stagedPackages(tree, `${pkg}/node_modules`, found);
    }
  }
  return found.sort();
}
