// Colour only for a person at a terminal: never when the stream is not a TTY, when NO_COLOR is set to anything
// (no-color.org), or on TERM=dumb. Applied to text that is already escaped, so it is the only escape sequence.
export interface Paint {
  readonly enabled: boolean;
  good(s: string): string;
  bad(s: string): string;
  warn(s: string): string;
  strong(s: string): string;
}

const plain: Paint = { enabled: false, good: (s) => s, bad: (s) => s, warn: (s) => s, strong: (s) => s };

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;

const coloured: Paint = { enabled: true, good: sgr('32'), bad: sgr('1;31'), warn: sgr('33'), strong: sgr('1') };

export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !env['NO_COLOR'] && env['TERM'] !== 'dumb';
}

export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Paint {
  return colourWanted(stream, env) ? coloured : plain;
}
