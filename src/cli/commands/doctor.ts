// airlock doctor: is this host ready to serve models with no network? PASS/FAIL lines, exit 1 on any FAIL.
import { doctorFailed, evaluateDoctor, formatChecks } from '../../doctor/checks.js';
import { gatherDoctorFacts } from '../../doctor/probes.js';
import { escapeText } from '../../util/escape-text.js';
import { paintFor } from '../colour.js';
import { defineCommand, writeJson, type CliIO, type ParsedArgs } from '../command.js';
import { CONFIG_OPTION, DOCKER_ENVIRONMENT, JSON_OPTION } from '../common-options.js';

export const spec = defineCommand({
  name: 'doctor',
  summary: 'check air-gap readiness: Docker, GPU runtime, images, deployments, secrets, port, disk, store',
  description: [
    'Prints one line per check, "PASS name: …" or "FAIL name: what is wrong and what to do", and exits 1 when any check fails. It reads the config the daemon would (its runtime section and store) and asks the engine DOCKER_HOST names.',
  ],
  positionals: [],
  options: [
    CONFIG_OPTION,
    { flag: '--store', value: 'DIR', complete: 'dir', description: "check this store instead of the config's", group: 'Store' },
    JSON_OPTION,
  ],
  jsonSchema: 'doctor-report',
  environment: DOCKER_ENVIRONMENT,
  exitStatus: '0 when every check passes, 1 when any fails.',
  seeAlso: ['daemon', 'deploy'],
});

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const facts = await gatherDoctorFacts({
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    ...(values.store !== undefined ? { store: values.store } : {}),
    env: io.env,
    cwd: io.cwd,
  });
  const checks = evaluateDoctor(facts);
  const failed = doctorFailed(checks);
  if (values.json) writeJson(io, { ok: !failed, checks });
  else {
    // Checks quote paths, image references and engine answers: escaped field by field, so each stays one line.
    const text = formatChecks(checks.map((c) => ({ ...c, name: escapeText(c.name), message: escapeText(c.message) })));
    const paint = paintFor(io.stdout, io.env);
    io.stdout.write(text.replace(/^(PASS|FAIL|WARN)\b/gm, (w) => (w === 'PASS' ? paint.good(w) : w === 'FAIL' ? paint.bad(w) : paint.warn(w))));
  }
  return failed ? 1 : 0;
}
