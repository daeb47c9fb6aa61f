// The release tree's share/: the man pages and the shell completion scripts, generated from the command specs
// of the very build being released. The tarball keeps them under share/; the .deb moves them to /usr/share.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bashCompletion, zshCompletion } from '../../src/cli/completion.js';
import { allSpecs, commandListing } from '../../src/cli/registry.js';
import { manPages, type ManPageContext } from './man-page.js';

export const MAN_DIR = 'share/man/man1';
export const BASH_COMPLETION = 'share/bash-completion/completions/airlock';
export const ZSH_COMPLETION = 'share/zsh/vendor-completions/_airlock';

/** Writes share/ into `tree`; returns the tree-relative paths written. */
export async function writeShareFiles(tree: string, ctx: ManPageContext): Promise<string[]> {
  const specs = await allSpecs();
  const files: Array<[string, string]> = [
    ...manPages(specs, await commandListing(), ctx).map((p): [string, string] => [`${MAN_DIR}/${p.file}`, p.text]),
    [BASH_COMPLETION, bashCompletion(specs, ctx.version)],
    [ZSH_COMPLETION, zshCompletion(specs, ctx.version)],
  ];
  for (const [rel, text] of files) {
    await mkdir(path.dirname(path.join(tree, rel)), { recursive: true });
    await writeFile(path.join(tree, rel), text);
  }
  return files.map(([rel]) => rel);
}
