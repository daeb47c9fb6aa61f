// `npm run release -- …` arguments into checked ReleaseOptions. Pure.
import path from 'node:path';
import { parseCommandArgs } from '../../src/cli/command.js';
import { AirlockError } from '../../src/errors.js';
import type { DebCompression } from './deb-package.js';

export const RELEASE_USAGE = `usage: npm run release -- (--sign KEY [--passphrase-file FILE] | --unsigned) [--out DIR]
                          [--node-license FILE] [--maintainer "NAME <EMAIL>"] [--deb-compression xz|gzip] [--json]
  From a clone after npm ci (the script builds dist/ first), writes into DIR (default release/):
    airlock-VERSION-linux-x64.tar.gz   one folder: bin/airlock, dist/, the production node_modules, schema/, ui/,
                                       systemd/, docs/, README.md, LICENSE, package.json and node/ (this
                                       machine's Node.js runtime with its license)
    airlock_VERSION_amd64.deb          the same tree as /opt/airlock, /usr/bin/airlock, the systemd unit,
                                       /etc/airlock/config.json (a conffile), the airlock user (postinst)
    SHA256SUMS, SHA256SUMS.sig         sha256sum -c input over both; an SSHSIG over it, namespace airlock-release
  --sign KEY          the release key (OpenSSH ed25519); a passphrase is asked on the terminal or read from
                      --passphrase-file
  --unsigned          no SHA256SUMS.sig (a test build: nothing to check it against)
  --out DIR           absent or empty
  --node-license F    Node.js's license text, when neither the node install nor /usr/share/doc/nodejs has it
  --maintainer M      the .deb's Maintainer field (default: ${'$'}AIRLOCK_MAINTAINER, else airlock maintainers)
  --deb-compression   xz (default: dpkg's own, the smallest) or gzip (a fifth of the time: test builds)
  --json              the report as JSON on stdout
  SOURCE_DATE_EPOCH   the time of every file in both archives (default: the last commit's time)`;

export const DEFAULT_MAINTAINER = 'airlock maintainers <airlock-maintainers@users.noreply.github.com>';

export interface ReleaseOptions {
  out: string;
  signKey?: string;
  passphraseFile?: string;
  nodeLicense?: string;
  maintainer: string;
  debCompression: DebCompression;
  json: boolean;
}

const OPTIONS = {
  out: { type: 'string' },
  sign: { type: 'string', multiple: true },
  'passphrase-file': { type: 'string' },
  unsigned: { type: 'boolean' },
  'node-license': { type: 'string' },
  maintainer: { type: 'string' },
  'deb-compression': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export function releaseOptionsFromArgs(argv: string[], cwd: string, defaultOut: string, env: NodeJS.ProcessEnv): ReleaseOptions {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, RELEASE_USAGE);
  if (positionals.length > 0) usage(`unexpected ${positionals[0]}`);
  const keys = values.sign ?? [];
  // One SHA256SUMS.sig, as `ssh-keygen -Y verify -s SHA256SUMS.sig` reads it: one signature per file.
  if (keys.length > 1) usage('--sign takes one release key');
  if (keys.length === 0 && !values.unsigned) usage('give the release key with --sign KEY (or --unsigned for a test build)');
  if (keys.length > 0 && values.unsigned) usage('--sign and --unsigned contradict each other');
  if (values['passphrase-file'] !== undefined && keys.length === 0) usage('--passphrase-file goes with --sign');
  const maintainer = values.maintainer ?? env['AIRLOCK_MAINTAINER'] ?? DEFAULT_MAINTAINER;
  if (!/^[^<>\n]+ <[^<>@\s]+@[^<>@\s]+>$/.test(maintainer)) usage(`--maintainer ${JSON.stringify(maintainer)} is not "NAME <EMAIL>"`);
  const debCompression = values['deb-compression'] ?? 'xz';
  if (debCompression !== 'xz' && debCompression !== 'gzip') usage('--deb-compression must be xz or gzip');
  const opts: ReleaseOptions = { out: path.resolve(cwd, values.out ?? defaultOut), maintainer, debCompression, json: values.json === true };
  if (keys[0] !== undefined) opts.signKey = path.resolve(cwd, keys[0]);
  if (values['passphrase-file'] !== undefined) opts.passphraseFile = path.resolve(cwd, values['passphrase-file']);
  if (values['node-license'] !== undefined) opts.nodeLicense = path.resolve(cwd, values['node-license']);
  return opts;
}

function usage(message: string): never {
  throw new AirlockError('USAGE', `${message}\n${RELEASE_USAGE}`);
}
