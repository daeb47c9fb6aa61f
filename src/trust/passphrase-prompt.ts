// Ask for a key passphrase on the terminal without echoing it. Only used when stdin is a TTY.
import { AirlockError } from '../errors.js';

interface TtyInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** A prompt for loadPrivateKey, or undefined when there is no terminal to ask on. */
export function terminalPrompt(stdin: TtyInput, out: NodeJS.WritableStream): ((question: string) => Promise<string>) | undefined {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return undefined;
  return (question) => readHidden(stdin, out, question);
}

function readHidden(stdin: TtyInput, out: NodeJS.WritableStream, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = stdin.isRaw ?? false;
    let value = '';
    const finish = (err?: Error): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(wasRaw);
      stdin.pause();
      out.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new AirlockError('USAGE', 'passphrase entry cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    out.write(question);
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
