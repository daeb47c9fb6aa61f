// Assemble the release tree (the tarball's one folder, the .deb's /opt/airlock) from a built clone.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../src/errors.js';
import { copyTree } from './copy-tree.js';
import type { NodeRuntime } from './node-runtime.js';
import { copyProductionModules, listProductionModules, stagedPackages, type ModuleInfo } from './production-modules.js';
import { devPackagesIn } from './tree-rules.js';

export interface StagedTree {
  dir: string;
  modules: ModuleInfo[];
}

/** Folders shipped whole, and single files; README.md and LICENSE are required. */
const FOLDERS = ['schema', 'ui', 'systemd', 'docs'];
const FILES = ['README.md', 'LICENSE'];

export async function stageTree(root: string, dir: string, node: NodeRuntime): Promise<StagedTree> {
  await mkdir(dir, { recursive: true });
  await mkdir(path.join(dir, 'bin'));
  await copyFile(path.join(root, 'bin', 'airlock'), path.join(dir, 'bin', 'airlock'));
  await stageDist(root, dir);
  for (const f of FOLDERS) if (existsSync(path.join(root, f))) await copyTree(path.join(root, f), path.join(dir, f));
  for (const f of FILES) {
    if (!existsSync(path.join(root, f))) throw new AirlockError('RELEASE_INVALID', `${f} is missing from ${root}; every release carries it`, { path: f });
    await copyFile(path.join(root, f), path.join(dir, f));
  }
  await writeFile(path.join(dir, 'package.json'), await runtimePackageJson(root));
  await mkdir(path.join(dir, 'node', 'bin'), { recursive: true });
  await copyFile(node.binary, path.join(dir, 'node', 'bin', 'node'));
  await copyFile(node.license, path.join(dir, 'node', 'LICENSE'));

  const { production, devOnly } = await listProductionModules(root);
  const modules = await copyProductionModules(root, dir, production);
  const strays = devPackagesIn(await stagedPackages(dir), production, devOnly);
  if (strays.length > 0) throw new AirlockError('RELEASE_INVALID', `not production dependencies, yet in the release: ${strays.join(', ')}`, { path: strays[0] });
  return { dir, modules };
}

/** dist/src/X.js for every src/X.ts, and nothing else: no tests, benchmarks, tools, source maps or stale output. */
async function stageDist(root: string, dir: string, rel = 'src'): Promise<void> {
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) {
      await stageDist(root, dir, r);
      continue;
    }
    if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
    const built = path.join(root, 'dist', r.replace(/\.ts$/, '.js'));
    if (!existsSync(built)) throw new AirlockError('RELEASE_INVALID', `${r} is not built (no ${path.relative(root, built)}); run npm run build first`, { path: r });
    await mkdir(path.dirname(path.join(dir, 'dist', r)), { recursive: true });
    await copyFile(built, path.join(dir, 'dist', r.replace(/\.ts$/, '.js')));
  }
}

/** What the runtime reads from package.json (its version, "type": "module"); no scripts, no dev dependencies. */
async function runtimePackageJson(root: string): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const keep = ['name', 'version', 'description', 'type', 'license', 'private', 'bin', 'engines', 'dependencies'];
  return JSON.stringify(Object.fromEntries(keep.filter((k) => k in pkg).map((k) => [k, pkg[k]])), null, 2) + '\n';
}
