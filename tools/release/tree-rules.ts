// What goes into the release tree and with which mode. Pure: paths are tree-relative with `/` separators.

/** Folders of the clone that never ship, and the one file that must never ship anywhere. */
const FORBIDDEN_PREFIXES = ['test/', 'bench/', '.ci/', 'fixtures/', 'dist/test/', 'dist/bench/', 'dist/tools/', 'tools/', 'src/', '.git/'];
const FORBIDDEN_NAMES = new Set(['demo_ed25519', '.tsbuildinfo', '.git']);

/** Tree paths that must not be in a release (checked on the staged tree, whatever put them there). */
export function forbiddenReleasePaths(paths: readonly string[]): string[] {
  return paths.filter((p) => FORBIDDEN_PREFIXES.some((f) => p.startsWith(f)) || FORBIDDEN_NAMES.has(p.split('/').pop() ?? ''));
}

/**
 * Inside one dependency (`rel` relative to its package folder): what to leave out. Dotfiles (lint and VCS
 * configuration, .npmignore), the package's own test suites (ssh2's carries private test keys), and a
 * node-gyp build folder's intermediate files: only build/Release/*.node is loaded.
 * `gypDirs` holds the package-relative folders that contain a binding.gyp ('' for the package root).
 */
export function isPrunedInPackage(rel: string, isDir: boolean, gypDirs: ReadonlySet<string>): boolean {
  const parts = rel.split('/');
  if (parts.some((p) => p.startsWith('.'))) return true;
  if (parts.length >= 1 && ['test', 'tests', '__tests__'].includes(parts[0] ?? '') && (isDir || parts.length > 1)) return true;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== 'build' || !gypDirs.has(parts.slice(0, i).join('/'))) continue;
    const inside = parts.slice(i + 1);
    if (inside.length === 0) return false; // build/ itself
    if (inside[0] !== 'Release') return true;
    if (inside.length === 1) return !isDir;
    return !(inside.length === 2 && !isDir && (inside[1] ?? '').endsWith('.node'));
  }
  return false;
}

/** ELF magic, for telling executables and shared objects from scripts. */
export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/**
 * One mode per kind of file, whatever the build machine had: scripts (`#!`) and ELF executables 0755,
 * everything else 0644, shared objects included (Node's addons are loaded by dlopen, never executed).
 */
export function releaseFileMode(rel: string, head: Buffer): 0o755 | 0o644 {
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return 0o755;
  if (isElf(head) && !/\.(node|so(\.\d+)*)$/.test(rel)) return 0o755;
  return 0o644;
}

// A PEM private key block: the armour line followed by base64, not code that merely names the armour.
const PRIVATE_KEY_BLOCK = /^-----BEGIN (?:OPENSSH |RSA |DSA |EC |ENCRYPTED )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}/m;

export function containsPrivateKey(text: string): boolean {
  return PRIVATE_KEY_BLOCK.test(text);
}

/** The staged node_modules must hold production packages only: nothing npm ls lists as dev-only, nothing unlisted. */
export function devPackagesIn(staged: readonly string[], production: readonly string[], devOnly: readonly string[]): string[] {
  const prod = new Set(production);
  const dev = new Set(devOnly);
  return staged.filter((p) => dev.has(p) || !prod.has(p));
}
