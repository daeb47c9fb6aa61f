// Entry point of `npm run release`: parse, build, report; errors as `airlock-release: CODE: message`.
import path from 'node:path';
import { exitCodeFor, formatErrorLine, toAirlockError } from '../../src/errors.js';
import { humanBytes } from '../../src/util/human.js';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';
import { buildRelease, type ReleaseReport } from './release.js';
import { RELEASE_NAMESPACE, SIG_FILE, SUMS_FILE } from './release-layout.js';
import { RELEASE_USAGE, releaseOptionsFromArgs } from './release-options.js';

export async function main(argv: string[], proc: NodeJS.Process): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    proc.stdout.write(RELEASE_USAGE + '\n');
    return 0;
  }
  try {
    const opts = releaseOptionsFromArgs(argv, proc.cwd(), path.join(PACKAGE_ROOT, 'release'), proc.env);
    const report = await buildRelease(opts, PACKAGE_ROOT, { stdin: proc.stdin, stderr: proc.stderr, env: proc.env });
    proc.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : describe(report));
    return 0;
  } catch (err) {
    const e = toAirlockError(err);
    proc.stderr.write(formatErrorLine(e).replace(/^airlock:/, 'airlock-release:') + '\n');
    if (e.code === 'INTERNAL' && proc.env['AIRLOCK_DEBUG']) proc.stderr.write(String((err as Error).stack) + '\n');
    return exitCodeFor(e.code);
  }
}

function describe(r: ReleaseReport): string {
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const lines = [
    `release   airlock ${r.version}: Node.js ${r.node}, ${r.packages} production packages, files dated ${new Date(r.sourceDateEpoch * 1000).toISOString()}`,
    `wrote     ${rel(r.tarball.path)}  ${humanBytes(r.tarball.size)}`,
    `wrote     ${rel(r.deb.path)}  ${humanBytes(r.deb.size)}`,
    `wrote     ${rel(r.sums)}`,
    r.signature ? `signed    ${rel(r.signature.path)}  by ${r.signature.key}` : `unsigned  no ${SIG_FILE} (--unsigned)`,
    `check     cd ${rel(r.out)} && sha256sum -c ${SUMS_FILE} && ssh-keygen -Y verify -f allowed_signers -I PRINCIPAL -n ${RELEASE_NAMESPACE} -s ${SIG_FILE} < ${SUMS_FILE}`,
    `bundle    airlock pack ${rel(r.out)} --kind files --name airlock/release --sign KEY --out DEST   (later transfers, docs/install.md)`,
    `took      ${r.seconds} s`,
  ];
  return lines.join('\n') + '\n';
}

// Run when executed (node dist/tools/release/main.js), not when a test imports it.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  void main(process.argv.slice(2), process).then((code) => {
    process.exitCode = code;
  });
}
