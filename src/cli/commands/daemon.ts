// airlock daemon: watch drop folders and media, verify and install what arrives, serve the status API.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { loadDaemonConfig } from '../../config/load-config.js';
import { startDaemon } from '../../daemon/daemon.js';
import { createLoggers } from '../../daemon/logger.js';
import { productionDeps } from '../../daemon/production.js';
import { PACKAGE_ROOT } from '../../util/schemas.js';
import { parseCommandArgs, type CliIO } from '../command.js';

export const summary = 'watch drop folders and USB media; verify, install (and deploy) bundles; serve the status API';
export const usage = `usage: airlock daemon [--config FILE]

Without --config, runs the embedded quick-start config: drop folder ./var/drop, store ./var/store,
the DEMO trust file fixtures/keys/allowed_signers.demo, API on http://127.0.0.1:7480, token in ./var/api-token.
Logs and audit events are JSON lines on stdout. SIGTERM or SIGINT stops it cleanly.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string' } }, usage);
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  const loaded = await loadDaemonConfig(values.config, io.cwd);
  const loggers = createLoggers(loaded.config.log.level, io.stdout);
  const version = await packageVersion();
  const daemon = await startDaemon(loaded, await productionDeps(loaded, loggers, version));
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        loggers.log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(130);
      }
      loggers.log.info({ signal: sig }, 'shutting down');
      void daemon.stop().then(resolve, (err: unknown) => {
        loggers.log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return 0;
}

async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
