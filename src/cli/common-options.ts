// Options several commands share, defined once so their help, docs and completion read the same everywhere.
import type { OptionSpec } from './command.js';

export const JSON_OPTION = {
  flag: '--json',
  description: 'print the result as one JSON document on stdout, or {"ok": false, "error": {…}} on failure; messages stay on stderr',
  group: 'Output',
} as const satisfies OptionSpec;

export const QUIET_OPTION = {
  flag: '--quiet',
  short: '-q',
  description: 'no progress bar or progress lines on stderr; results, warnings and errors are still printed',
  group: 'Output',
} as const satisfies OptionSpec;

export const STORE_OPTION = {
  flag: '--store',
  value: 'DIR',
  required: true,
  complete: 'dir',
  description: 'the store (the folder install writes; the daemon config names its own)',
  group: 'Store',
} as const satisfies OptionSpec;

export const CONFIG_OPTION = {
  flag: '--config',
  value: 'FILE',
  complete: 'file',
  description:
    'the daemon config; default $AIRLOCK_CONFIG, else /etc/airlock/config.json when it exists, else the embedded quick-start config (./var, demo trust)',
} as const satisfies OptionSpec;

export const DOCKER_ENVIRONMENT = [
  { name: 'DOCKER_HOST', description: 'the Docker Engine to use, as for the docker CLI (default unix:///var/run/docker.sock)' },
] as const;
