// The documentation as data: its pages (README.md and docs/**/*.md), their fenced code blocks with line numbers,
// and the recipe conventions of docs/README.md ("How the recipes are tested").
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';

/** The info strings of runnable blocks, and what each asks of the test. */
export const RUNNABLE = {
  'sh run': 'run',
  'sh run docker': 'docker',
  'sh run background': 'background',
} as const;

export type RunMode = (typeof RUNNABLE)[keyof typeof RUNNABLE];

export interface CodeBlock {
  /** page path relative to the repository, e.g. docs/guide-reviewer.md */
  page: string;
  /** 1-based line of the opening fence */
  line: number;
  info: string;
  text: string;
  /** set for runnable blocks */
  mode?: RunMode;
  /** the HTML comment on the line just above the fence, if any (e.g. a marker a test looks for) */
  marker?: string;
}

/** README.md and every Markdown page under docs/, as repository-relative paths, sorted. */
export function docPages(): string[] {
  const pages = ['README.md'];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(PACKAGE_ROOT, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && e.name.endsWith('.md')) pages.push(child);
    }
  };
  walk('docs');
  return pages.sort();
}

export function readPage(page: string): string {
  return readFileSync(path.join(PACKAGE_ROOT, page), 'utf8');
}

const SHELLS = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);

/**
 * Every fenced block of a page (``` or ~~~, indented inside list items too), with the fence's indentation
 * removed from its lines. Throws on a shell block whose info string is neither plain nor one of RUNNABLE, so
 * a typo (`sh runn`, `bash run`) cannot quietly turn a recipe into an untested one.
 */
export function codeBlocks(page: string, source = readPage(page)): CodeBlock[] {
  const lines = source.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, rawInfo] = open as unknown as [string, string, string, string];
    const info = rawInfo.trim();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trimStart().startsWith(fence) && l.trim().replace(new RegExp(`^${fence[0] === '`' ? '`' : '~'}+`), '') === '') break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    const words = info.split(/\s+/);
    const mode = (RUNNABLE as Record<string, RunMode>)[info];
    if (!mode && words.length > 1 && SHELLS.has(words[0]!)) {
      throw new Error(`${page}:${i + 1}: shell block with info string "${info}": use plain "sh" or one of ${Object.keys(RUNNABLE).join(', ')}`);
    }
    const above = lines[i - 1]?.trim() ?? '';
    blocks.push({
      page,
      line: i + 1,
      info,
      text: body.join('\n'),
      ...(mode ? { mode } : {}),
      ...(above.startsWith('<!--') ? { marker: above } : {}),
    });
    i = j;
  }
  return blocks;
}

/** The runnable blocks of every page, in page order. */
export function runnableBlocks(): CodeBlock[] {
  return docPages().flatMap((p) => codeBlocks(p).filter((b) => b.mode !== undefined));
}
