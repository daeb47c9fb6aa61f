// Every command by name and section. Each module loads on demand, so `airlock verify` never loads fastify or
// dockerode; help, the reference pages, man pages and completion load them all.
import type { CommandModule, CommandSpec } from './command.js';
import type { CommandListing } from './help-text.js';

export const SECTIONS = ['Connected side', 'Review', 'Air-gapped host', 'Daemon', 'Shell'] as const;

interface Entry {
  name: string;
  section: (typeof SECTIONS)[number];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module's run takes its own spec's arguments
  load: () => Promise<CommandModule<any>>;
}

export const COMMANDS: readonly Entry[] = [
  { name: 'fetch', section: 'Connected side', load: () => import('./commands/fetch.js') },
  { name: 'pack', section: 'Connected side', load: () => import('./commands/pack.js') },
  { name: 'keygen', section: 'Connected side', load: () => import('./commands/keygen.js') },
  { name: 'sign', section: 'Connected side', load: () => import('./commands/sign.js') },
  { name: 'inspect', section: 'Review', load: () => import('./commands/inspect.js') },
  { name: 'verify', section: 'Review', load: () => import('./commands/verify.js') },
  { name: 'install', section: 'Air-gapped host', load: () => import('./commands/install.js') },
  { name: 'deployments', section: 'Air-gapped host', load: () => import('./commands/deployments.js') },
  { name: 'rollback', section: 'Air-gapped host', load: () => import('./commands/rollback.js') },
  { name: 'deploy', section: 'Air-gapped host', load: () => import('./commands/deploy.js') },
  { name: 'stop', section: 'Air-gapped host', load: () => import('./commands/stop.js') },
  { name: 'inventory', section: 'Air-gapped host', load: () => import('./commands/inventory.js') },
  { name: 'gc', section: 'Air-gapped host', load: () => import('./commands/gc.js') },
  { name: 'unlock', section: 'Air-gapped host', load: () => import('./commands/unlock.js') },
  { name: 'doctor', section: 'Air-gapped host', load: () => import('./commands/doctor.js') },
  { name: 'daemon', section: 'Daemon', load: () => import('./commands/daemon.js') },
  { name: 'status', section: 'Daemon', load: () => import('./commands/status.js') },
  { name: 'completion', section: 'Shell', load: () => import('./commands/completion.js') },
  { name: 'help', section: 'Shell', load: () => import('./commands/help.js') },
];

export const COMMAND_NAMES = COMMANDS.map((c) => c.name);

export function findCommand(name: string): Entry | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Every command's spec, in listing order. */
export async function allSpecs(): Promise<CommandSpec[]> {
  return Promise.all(COMMANDS.map(async (c) => (await c.load()).spec as CommandSpec));
}

/** The commands that get a reference page and a man page of their own (help is airlock(1) itself). */
export async function documentedSpecs(): Promise<CommandSpec[]> {
  return (await allSpecs()).filter((s) => s.name !== 'help');
}

export async function commandListing(): Promise<CommandListing[]> {
  const specs = await allSpecs();
  return SECTIONS.map((section) => ({
    section,
    commands: COMMANDS.flatMap((c, i) => (c.section === section ? [{ name: c.name, summary: specs[i]!.summary }] : [])),
  }));
}
