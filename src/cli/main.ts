// The one place that turns a command's outcome into output and an exit code.
import { AirlockError, exitCodeFor, formatErrorLine, toAirlockError } from '../errors.js';
import type { CliIO, CommandModule } from './command.js';

/** Each command is its own module, loaded on demand so `airlock verify` never loads fastify or dockerode. */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  pack: () => import('./commands/pack.js'),
  verify: () => import('./commands/verify.js'),
  inspect: () => import('./commands/inspect.js'),
  keygen: () => import('./commands/keygen.js'),
  sign: () => import('./commands/sign.js'),
  fetch: () => import('./commands/fetch.js'),
  stop: () => import('./commands/stop.js'),
  deploy: () => import('./commands/deploy.js'),
  doctor: () => import('./commands/doctor.js'),
  install: () => import('./commands/install.js'),
  publish: () => import('./commands/publish.js'),
  rollback: () => import('./commands/rollback.js'),
  deployments: () => import('./commands/deployments.js'),
  gc: () => import('./commands/gc.js'),
  inventory: () => import('./commands/inventory.js'),
  unlock: () => import('./commands/unlock.js'),
  daemon: () => import('./commands/daemon.js'),
  status: () => import('./commands/status.js'),
};

export interface ProcessLike {
  stdout: CliIO['stdout'];
  stderr: CliIO['stderr'];
  stdin: CliIO['stdin'];
  env: NodeJS.ProcessEnv;
  cwd(): string;
}

export async function main(argv: string[], proc: ProcessLike): Promise<number> {
  const io: CliIO = { stdout: proc.stdout, stderr: proc.stderr, stdin: proc.stdin, env: proc.env, cwd: proc.cwd() };
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    return printHelp(io, rest[0]);
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`airlock ${await packageVersion()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(formatErrorLine(new AirlockError('USAGE', `unknown command ${JSON.stringify(name)}; see airlock help`)) + '\n');
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const e = toAirlockError(err);
    // Usage errors end with the command's usage text (ours, several lines): it is printed after the error
    // line, as it is, while the line itself is escaped like any other.
    const { line, usage } = splitUsage(e, command.usage);
    io.stderr.write(formatErrorLine(line) + '\n' + (usage ? usage + '\n' : ''));
    if (e.code === 'INTERNAL' && io.env.AIRLOCK_DEBUG) io.stderr.write(String((err as Error).stack) + '\n');
    return exitCodeFor(e.code);
  }
}

function splitUsage(e: AirlockError, usage: string): { line: AirlockError; usage?: string } {
  const suffix = `\n${usage}`;
  if (!e.message.endsWith(suffix)) return { line: e };
  const message = e.message.slice(0, -suffix.length);
  return { line: new AirlockError(e.code, message, { ...(e.path === undefined ? {} : { path: e.path }), failures: e.failures }), usage };
}

async function printHelp(io: CliIO, topic: string | undefined): Promise<number> {
  if (topic && COMMANDS[topic]) {
    io.stdout.write((await COMMANDS[topic]!()).usage + '\n');
    return 0;
  }
  const lines = ['airlock: carry NIM model deployments across an air gap', '', 'commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    lines.push(`  ${name.padEnd(12)} ${(await load()).summary}`);
  }
  lines.push('', 'airlock help COMMAND shows its options. Exit codes: 0 ok, 1 rejected or failed, 2 usage or configuration error.');
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { PACKAGE_ROOT } = await import('../util/schemas.js');
  const pkg = JSON.parse(await readFile(`${PACKAGE_ROOT}/package.json`, 'utf8')) as { version: string };
  return pkg.version;
}
