// airlock daemon: watch drop folders and media, verify and install what arrives, serve the status API.
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { describeConfig, discoverConfig } from '../../config/discover.js';
import type { ConfigOverrides } from '../../config/load-config.js';
import { startDaemon } from '../../daemon/daemon.js';
import { createLoggers } from '../../daemon/logger.js';
import { productionDeps } from '../../daemon/production.js';
import { armShutdownDeadline, EXIT_FATAL, raise } from '../../daemon/shutdown.js';
import { defineCommand, parseIntegerOption, type CliIO, type ParsedArgs } from '../command.js';
import { CONFIG_OPTION } from '../common-options.js';
import { writableOutput, writableStore } from '../store-access.js';
import { packageVersion } from '../version.js';

export const spec = defineCommand({
  name: 'daemon',
  summary: 'watch drop folders and USB media; verify, install (and deploy) bundles; serve the status API',
  description: [
    'The config is found as for every command: --config FILE, else $AIRLOCK_CONFIG, else /etc/airlock/config.json when it exists, else the embedded quick-start config: drop folder ./var/drop, store ./var/store, the DEMO trust file fixtures/keys/allowed_signers.demo, API on http://127.0.0.1:7480, token in ./var/api-token.',
    '--port, --host, --drop and --store replace what the config says, for a quick start or a second daemon beside the first; relative paths are taken from the working directory.',
    'Logs and audit events are JSON lines on stdout. SIGTERM or SIGINT stops it cleanly, within 5 s whatever a bundle is doing (past that, the process ends by the signal itself); a second signal ends it at once.',
  ],
  positionals: [],
  options: [
    CONFIG_OPTION,
    { flag: '--port', value: 'N', complete: 'none', description: 'listen on this TCP port instead of api.port (0: any free port)', group: 'Daemon' },
    {
      flag: '--host',
      value: 'ADDRESS',
      complete: 'none',
      description: 'listen on this address instead of api.host (e.g. 0.0.0.0, ::1)',
      group: 'Daemon',
    },
    {
      flag: '--drop',
      value: 'DIR',
      repeatable: true,
      complete: 'dir',
      description: "watch this drop folder instead of the config's dropFolders (created when missing)",
      group: 'Daemon',
    },
    { flag: '--store', value: 'DIR', complete: 'dir', description: "install into this store instead of the config's", group: 'Daemon' },
  ],
  exitStatus:
    '0 after a clean stop, 2 for a bad config or command line, a store or folder it cannot write, or a port already in use; 74 when it cannot keep its state file or audit trail (so that systemd starts it again).',
  examples: [
    {
      description: 'A second daemon for a quick test, beside the first.',
      command: 'airlock daemon --port 7481 --drop /tmp/try/drop --store /tmp/try/store',
    },
  ],
  seeAlso: ['status', 'doctor'],
});

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const overrides = overridesFrom(values, io.cwd);
  const loaded = await discoverConfig(values.config, io.env, io.cwd, overrides);
  if (loaded.config.api.socket !== undefined && (values.port !== undefined || values.host !== undefined)) {
    throw new AirlockError(
      'USAGE',
      `the config listens on the unix socket ${loaded.config.api.socket} (api.socket): --port and --host do not apply`,
      {
        path: values.port !== undefined ? '--port' : '--host',
      },
    );
  }
  const loggers = createLoggers(loaded.config.log.level, io.stdout);
  loggers.log.info({ config: loaded.source, origin: loaded.origin }, `config: ${describeConfig(loaded)}`);
  const version = await packageVersion();
  const start = async () => startDaemon(loaded, await productionDeps(loaded, loggers, version));
  const daemon = await writableOutput('a folder the daemon writes (drop folder, token file)', () => writableStore(loaded.config.store, start));
  return new Promise<number>((resolve) => {
    let signals = 0;
    // Stop gracefully, but within SHUTDOWN_DEADLINE_MS whatever a bundle is doing (see shutdown.ts).
    const shutDown = (code: number, deadlineSignal: NodeJS.Signals) => {
      const deadline = armShutdownDeadline(process, deadlineSignal);
      const done = () => {
        deadline.settled();
        resolve(code);
      };
      daemon.stop().then(done, (err: unknown) => {
        loggers.log.error({ err }, 'shutdown failed');
        done();
      });
    };
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        loggers.log.warn({ signal: sig }, 'second signal: exiting now');
        return raise(process, sig);
      }
      loggers.log.info({ signal: sig }, 'shutting down');
      shutDown(0, sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Half-alive is worse than restarted: without its state file or audit trail the daemon exits non-zero.
    void daemon.fatal.then(() => {
      if (signals++ > 0) return;
      shutDown(EXIT_FATAL, 'SIGKILL');
    });
  });
}

function overridesFrom(values: ParsedArgs<typeof spec>['values'], cwd: string): ConfigOverrides {
  const api: NonNullable<ConfigOverrides['api']> = {};
  const port = parseIntegerOption(values.port, '--port', 0, 65535);
  if (port !== undefined) api.port = port;
  if (values.host !== undefined) {
    if (values.host === '') throw new AirlockError('USAGE', '--host needs an address, such as 127.0.0.1 or ::1', { path: '--host' });
    api.host = values.host;
  }
  return {
    ...(Object.keys(api).length > 0 ? { api } : {}),
    ...(values.drop.length > 0 ? { dropFolders: values.drop.map((d) => path.resolve(cwd, d)) } : {}),
    ...(values.store !== undefined ? { store: path.resolve(cwd, values.store) } : {}),
  };
}
