// airlock doctor: is this host ready to serve models with no network? PASS/FAIL lines, exit 1 on any FAIL.
import { doctorFailed, evaluateDoctor, formatChecks } from '../../doctor/checks.js';
import { gatherDoctorFacts } from '../../doctor/probes.js';
import { escapeText } from '../../util/escape-text.js';
import { parseCommandArgs, writeJson, type CliIO } from '../command.js';

export const summary = 'check air-gap readiness: Docker, GPU runtime, images, deployments, secrets, port, disk, store';
export const usage = `usage: airlock doctor [--config FILE] [--store DIR] [--json]
  --config  the daemon config file (its runtime section and store); without it, runtime defaults.
  --store   check this store instead of the config's.
  Prints one line per check, "PASS name: …" or "FAIL name: what is wrong and what to do",
  and exits 1 when any check fails.`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(argv, { config: { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean' } }, usage);
  const facts = await gatherDoctorFacts({
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    ...(values.store !== undefined ? { store: values.store } : {}),
    env: io.env,
    cwd: io.cwd,
  });
  const checks = evaluateDoctor(facts);
  const failed = doctorFailed(checks);
  if (values.json) writeJson(io, { ok: !failed, checks });
  // Checks quote paths, image references and engine answers: escaped field by field, so each stays one line.
  else io.stdout.write(formatChecks(checks.map((c) => ({ ...c, name: escapeText(c.name), message: escapeText(c.message) }))));
  return failed ? 1 : 0;
}
