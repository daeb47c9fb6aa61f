// `airlock doctor` checks each configured registry as the daemon would reach it (reachable, TLS, credentials,
// the newest tag of the channel) and says what to fix; the decisions first, then against real registries.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { evaluateDoctor, type DoctorFacts, type RegistryFacts } from '../src/doctor/checks.js';
import { DEMO_ALLOWED_SIGNERS } from '../src/config/defaults.js';
import { resolveRuntimeConfig } from '../src/runtime/config.js';
import { airlock } from './helpers/cli.js';
import { packFixture } from './helpers/fixtures.js';
import { DEMO_KEY } from './helpers/nim-bundles.js';
import { requireRegistry, startRegistry } from './helpers/registry.js';
import { scratchDir } from './helpers/scratch.js';

const base: DoctorFacts = { configSource: 'c.json', runtime: resolveRuntimeConfig({ kind: 'none' }), envSecrets: [], models: [] };
const reg = (extra: Partial<RegistryFacts>): RegistryFacts => ({
  url: 'https://r.enclave:5000',
  repository: 'models/x',
  channel: 'stable',
  secure: true,
  ...extra,
});
const line = (r: RegistryFacts, name = 'registry https://r.enclave:5000/models/x') =>
  evaluateDoctor({ ...base, registries: [r] }).find((c) => c.name === name);

t.test('one line per registry: what was found, or the code and what to fix', async (t) => {
  t.match(line(reg({ authenticated: true, latestTag: 'stable-4', caFile: '/etc/airlock/ca.pem' })), {
    status: 'PASS',
    message: /TLS verified with \/etc\/airlock\/ca\.pem\), credentials accepted; newest stable tag stable-4/,
  });
  t.match(line(reg({ problem: { code: 'REGISTRY_TLS', message: 'x' } })), { status: 'FAIL', message: /caFile/ });
  t.match(line(reg({ problem: { code: 'REGISTRY_AUTH', message: 'x' } })), { status: 'FAIL', message: /auth\.basicFile/ });
  t.match(line(reg({ problem: { code: 'REGISTRY_UNREACHABLE', message: 'x' } })), { status: 'FAIL', message: /no other host/ });
  t.match(
    line(
      reg({ caFile: '/ca.pem', engineCa: { path: '/etc/docker/certs.d/r.enclave:5000/ca.crt', present: false } }),
      'registry-engine r.enclave:5000',
    ),
    {
      status: 'FAIL',
      message: /certs\.d\/r\.enclave:5000\/ca\.crt/,
    },
  );
});

t.test('doctor against real registries: a good TLS one, refused credentials, one that is down', async (t) => {
  if (!requireRegistry(t)) return;
  const dir = scratchDir(t);
  const secure = await startRegistry(t, { tls: true, auth: true });
  const b = await packFixture(t, { fixture: 'model-dir', name: 'doctor/model', sequence: 2, signKeys: [DEMO_KEY] });
  const pub = await airlock([
    'publish',
    b.location,
    '--to',
    `${secure.url}/models/doctor`,
    '--trust',
    DEMO_ALLOWED_SIGNERS,
    '--ca-file',
    secure.caFile!,
    '--basic-file',
    secure.basicFile!,
  ]);
  t.equal(pub.exitCode, 0, pub.stderr);
  const down = await startRegistry(t);
  await down.stop();
  const wrong = path.join(dir, 'wrong');
  await writeFile(wrong, 'airlock:wrong\n');
  const ok = { url: secure.url, repository: 'models/doctor', channel: 'stable', caFile: secure.caFile, auth: { basicFile: secure.basicFile } };
  const config = path.join(dir, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      store: 'store',
      trust: { allowedSigners: DEMO_ALLOWED_SIGNERS },
      registries: [
        ok,
        { ...ok, repository: 'models/refused', auth: { basicFile: wrong } },
        { ...ok, repository: 'models/no-ca', caFile: undefined },
        { url: down.url, repository: 'models/down', channel: 'stable' },
      ],
    }),
  );
  const res = await airlock(['doctor', '--config', config, '--json']);
  t.equal(res.exitCode, 1, res.stderr);
  const checks = JSON.parse(res.stdout).checks as Array<{ status: string; name: string; message: string }>;
  const find = (repo: string, url = secure.url) => checks.find((c) => c.name === `registry ${url}/${repo}`);
  t.match(find('models/doctor'), { status: 'PASS', message: /TLS verified.*credentials accepted; newest stable tag stable-2/ });
  t.match(find('models/refused'), { status: 'FAIL', message: /^REGISTRY_AUTH/ });
  t.match(find('models/no-ca'), { status: 'FAIL', message: /^REGISTRY_TLS/ });
  t.match(find('models/down', down.url), { status: 'FAIL', message: /^REGISTRY_UNREACHABLE/ });
  t.notOk(res.stdout.includes(secure.password!), 'no password in the report');
});
