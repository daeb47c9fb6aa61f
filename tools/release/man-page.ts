// airlock(1) for the .deb, from the CLI's own `airlock help` (so the page cannot drift from the commands). Pure.

export interface ManPageInput {
  version: string;
  /** YYYY-MM-DD */
  date: string;
  /** The text `airlock help` prints. */
  help: string;
}

/** roff-escape one line of plain text for a no-fill block. */
function roffLine(line: string): string {
  const escaped = line.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

export function manPage({ version, date, help }: ManPageInput): string {
  const lines = [
    `.TH AIRLOCK 1 "${date}" "airlock ${version}" "User Commands"`,
    '.SH NAME',
    'airlock \\- carry NVIDIA NIM model deployments across an air gap',
    '.SH SYNOPSIS',
    '.B airlock',
    '.I command',
    '.RI [ options ]',
    '.br',
    '.B airlock help',
    '.I command',
    '.SH DESCRIPTION',
    'airlock packs, signs, verifies and installs NIM model bundles, and its daemon installs and deploys',
    'the bundles that arrive in its drop folders or on removable media.',
    '.PP',
    '.nf',
    ...help.replace(/\n+$/, '').split('\n').map(roffLine),
    '.fi',
    '.SH FILES',
    '.TP',
    '.I /etc/airlock/config.json',
    'the daemon configuration (schema: /opt/airlock/schema/config.schema.json)',
    '.TP',
    '.I /etc/airlock/allowed_signers',
    'the keys whose signatures the daemon accepts (OpenSSH allowed_signers format)',
    '.TP',
    '.I /var/lib/airlock',
    'the store, the daemon state and its audit log, the API token',
    '.TP',
    '.I /var/spool/airlock/drop',
    'the drop folder (group airlock\\-operators may write)',
    '.SH SEE ALSO',
    '.BR ssh\\-keygen (1),',
    '.BR systemctl (1),',
    '/opt/airlock/docs/install.md, /opt/airlock/README.md',
  ];
  return lines.join('\n') + '\n';
}
