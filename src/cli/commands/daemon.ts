// airlock daemon: watch drop folders and media, verify and install what arrives, serve the status API.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { describeConfig, discoverConfig } from '../../config/discover.js';
import { startDaemon } from '../../daemon/daemon.js';
import { createLoggers } from '../../daemon/logger.js';
import { productionDeps } from '../../daemon/production.js';
import { armShutdownDeadline, EXIT_FATAL, raise } from '../../daemon/shutdown.js';
import { PACKAGE_ROOT } from '../../util/schemas.js';
import { parseCommandArgs, type CliIO } from '../command.js';

export const summary = 'watch drop folders and USB media; verify, install (and deploy) bundles; serve the status API';
export const usage = `usage: airlock daemon [--config FILE]

The config is found as for every command: --config FILE, else $AIRLOCK_CONFIG, else /etc/airlock/config.json
when it exists, else the embedded quick-start config: drop folder ./var/drop, store ./var/store, the DEMO trust
file fixtures/keys/allowed_signers.demo, API on http://127.0.0.1:7480, token in ./var/api-token.
Logs and audit events are JSON lines on stdout. SIGTERM or SIGINT stops it cleanly, within 5 s whatever a
bundle is doing (past that, the process ends by the signal itself); a second signal ends it at once.
Exits 74 when it cannot keep its state file or audit trail (so that systemd starts it again), 2 for a bad config.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' } }, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  const loaded = await discoverConfig(values.config, io.env, io.cwd);
  const loggers = createLoggers(loaded.config.log.level, io.stdout);
  loggers.log.info({ config: loaded.source, origin: loaded.origin }, `config: ${describeConfig(loaded)}`);
  const version = await packageVersion();
  const daemon = await startDaemon(loaded, await productionDeps(loaded, loggers, version));
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

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
