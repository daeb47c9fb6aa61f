// Documentation that cannot rot: every ```sh run block of README.md and docs/**/*.md is executed, page by page,
// as docs/README.md ("How the recipes are tested") promises. A recipe that breaks fails here with its page, its
// line and its output; a page that loses its recipes fails the count below.
import t from 'tap';
import { dockerAvailable } from './helpers/docker.js';
import { codeBlocks, docPages, type CodeBlock } from './helpers/doc-blocks.js';
import { backgroundOutput, canUsePrivateNetwork, makeWorkspace, runBlock, startBackground, tail } from './helpers/recipe-runner.js';
import { scratchDir } from './helpers/scratch.js';
import path from 'node:path';
import { mkdirSync } from 'node:fs';

/** At least this many runnable blocks per page: a recipe turned into a plain block, or deleted, fails here. */
const MINIMUM_RECIPES: Record<string, number> = {
  'README.md': 6,
  'docs/guide-connected.md': 7,
  'docs/guide-reviewer.md': 11,
  'docs/guide-operator.md': 12,
  'docs/format.md': 4,
  'docs/keys.md': 5,
  'docs/security.md': 3,
  'docs/errors.md': 1,
  'docs/development.md': 1,
};

const BLOCK_TIMEOUT_MS = 180_000;
const DOCKER_BLOCK_TIMEOUT_MS = 600_000;

const pages = docPages().map((page) => ({ page, blocks: codeBlocks(page).filter((b) => b.mode !== undefined) }));

t.test('every page keeps at least the recipes it had', async (t) => {
  for (const [page, minimum] of Object.entries(MINIMUM_RECIPES)) {
    const found = pages.find((p) => p.page === page);
    t.ok(found, `${page} exists`);
    t.ok((found?.blocks.length ?? 0) >= minimum, `${page}: ${found?.blocks.length ?? 0} runnable blocks, at least ${minimum}`);
  }
  const total = pages.reduce((n, p) => n + p.blocks.length, 0);
  t.comment(`${total} runnable blocks in ${pages.filter((p) => p.blocks.length > 0).length} pages`);
});

// `set -e` does not act on a negated command: `! cmd` before a block's last line would check nothing.
t.test('no recipe hides a check behind `!`', async (t) => {
  for (const { blocks } of pages) {
    for (const b of blocks) {
      const lines = b.text.split('\n').map((l) => l.trim());
      const last = lines.filter((l) => l !== '' && !l.startsWith('#')).length;
      let seen = 0;
      for (const [i, l] of lines.entries()) {
        if (l === '' || l.startsWith('#')) continue;
        seen++;
        if (/^!\s/.test(l) && seen < last) t.fail(`${b.page}:${b.line + 1 + i}: "${l}": set -e ignores it; write: if CMD; then exit 1; fi`);
      }
    }
  }
  t.pass('checked');
});

const privateNetwork = canUsePrivateNetwork();
if (!privateNetwork) t.comment('no private network namespace here (needs root, unshare and ip): recipes run on the host network');

// Two pages at a time: each has its own scratch folder and network namespace, and most of a recipe's time is
// spent waiting (a daemon's quiet period, a container's health check).
t.jobs = 2;

// DOCS_PAGES=guide-operator runs only the pages whose path contains that text (while writing one).
const only = process.env['DOCS_PAGES'];

for (const { page, blocks } of pages) {
  if (blocks.length === 0 || (only && !page.includes(only))) continue;
  t.test(`${page}: ${blocks.length} recipes`, async (t) => {
    const dir = path.join(scratchDir(t), 'page');
    mkdirSync(dir);
    const ws = await makeWorkspace(dir, { network: 'private' });
    t.teardown(() => ws.close());
    const docker = blocks.some((b) => b.mode === 'docker') ? await dockerAvailable() : false;
    for (const [i, block] of blocks.entries()) {
      const where = `${page}:${block.line}`;
      if (block.mode === 'background') {
        startBackground(ws, block, i);
        t.pass(`${where} started in the background`);
        continue;
      }
      if (block.mode === 'docker' && !docker) {
        const reason = `${where} needs a Docker Engine (DOCKER_HOST): none answers`;
        if (process.env['CI'] === 'true') t.fail(reason);
        else t.pass(where, { skip: reason });
        continue;
      }
      const r = await runBlock(ws, block, i, block.mode === 'docker' ? DOCKER_BLOCK_TIMEOUT_MS : BLOCK_TIMEOUT_MS);
      if (r.code === 0 && !r.timedOut) {
        t.pass(`${where} (${r.seconds.toFixed(1)} s)`);
        continue;
      }
      t.fail(report(block, r.timedOut ? `timed out after ${r.seconds.toFixed(0)} s` : `exit ${r.code}`, r.output, backgroundOutput(ws)));
      break; // later blocks build on this one
    }
  });
}

function report(block: CodeBlock, what: string, output: string, background: string): string {
  return [`${block.page}:${block.line}: the recipe failed (${what})`, '--- its output ---', tail(output, 60), background].filter(Boolean).join('\n');
}
