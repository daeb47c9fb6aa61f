// What a command shows on a terminal besides its result: the progress bar, silenced by --quiet.
import { escapeText } from '../util/escape-text.js';
import { createProgress, silentProgress, type Progress } from '../util/progress.js';
import type { CliIO } from './command.js';

/** The bar on stderr (drawn only when stderr is a terminal), or nothing with --quiet. */
export function progressFor(io: CliIO, quiet: boolean): Progress {
  return quiet ? silentProgress : createProgress(io.stderr);
}

/** Informational lines on stderr (`running …`, `config …`), dropped with --quiet; escaped like every line. */
export function sayFor(io: CliIO, quiet: boolean): (line: string) => void {
  return quiet ? () => undefined : (line) => io.stderr.write(`${escapeText(line)}\n`);
}
