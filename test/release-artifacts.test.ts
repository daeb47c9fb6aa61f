// `npm run release` built once, then checked the way a reviewer and an operator would: SHA256SUMS and its
// signature with stock sha256sum and ssh-keygen, the tarball's contents, the tarball run with no network at
// all (unshare -n), the .deb through lintian, dpkg -i, systemd-analyze verify, its daemon as the airlock
// user, dpkg -r and dpkg -P, and the release folder carried as a files bundle.
// Root-only parts (unshare, dpkg) skip with the reason elsewhere and FAIL under CI=true.
import { spawn, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { apiRequest } from '../src/api/client.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { airlock, childEnv } from './helpers/cli.js';
import { fixturePath, packFixture } from './helpers/fixtures.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';
import { scratchDir } from './helpers/scratch.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to its end; never throws on a non-zero exit (the test looks at the code). */
function sh(cmd: string, args: string[], opts: SpawnOptions & { input?: Buffer | string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, env: opts.env ?? childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A child may exit before reading its input (node --version): EPIPE is no error of the test's.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}

const CI = process.env['CI'] === 'true';
const ROOT_ONLY = process.getuid?.() === 0 ? undefined : 'needs root';

/** Skip with the reason, or fail under CI where every part must run. */
function unavailable(t: Test, reason: string | undefined): boolean {
  if (!reason) return false;
  if (CI) t.fail(`under CI=true this must run: ${reason}`);
  else t.pass('root-only checks', { skip: reason });
  return true;
}

const SOURCE_DATE_EPOCH = 1767225600; // 2026-01-01T00:00:00Z
const PRINCIPAL = 'release@example.org';
const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

interface Report {
  version: string;
  node: string;
  sourceDateEpoch: number;
  out: string;
  tarball: { name: string; path: string; size: number };
  deb: { name: string; path: string; size: number };
  sums: string;
  signature?: { path: string; key: string };
  seconds: number;
}

t.test('release artifacts', async (t) => {
  const work = scratchDir(t);
  const key = makeKey(work, 'release-key', { comment: PRINCIPAL });
  const signers = path.join(work, 'allowed_signers');
  writeAllowedSigners(signers, [{ principals: PRINCIPAL, key }]);
  const out = path.join(work, 'release');
  // A fake node first on PATH: anything that runs it instead of the bundled runtime fails with 99.
  const fakebin = path.join(work, 'fakebin');
  mkdirSync(fakebin);
  writeFileSync(path.join(fakebin, 'node'), '#!/bin/sh\necho "fake node on PATH ran" >&2\nexit 99\n');
  chmodSync(path.join(fakebin, 'node'), 0o755);
  const noNodeEnv = childEnv({ PATH: `${fakebin}:/usr/sbin:/usr/bin:/sbin:/bin` });

  const started = Date.now();
  const built = await sh(
    process.execPath,
    [path.join(PACKAGE_ROOT, 'dist/tools/release/main.js'), '--sign', key.privatePath, '--out', out, '--deb-compression', 'gzip', '--json'],
    {
      env: childEnv({ SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) }),
    },
  );
  if (built.code !== 0) throw new Error(`npm run release failed (${built.code}): ${built.stderr}`);
  const report = JSON.parse(built.stdout) as Report;
  t.comment(
    `release build ${((Date.now() - started) / 1000).toFixed(1)} s; tarball ${report.tarball.size} bytes, .deb (gzip) ${report.deb.size} bytes`,
  );
  t.match(report, {
    version: pkg.version,
    node: process.version,
    sourceDateEpoch: SOURCE_DATE_EPOCH,
    tarball: { name: `airlock-${pkg.version}-linux-x64.tar.gz` },
  });
  t.same(readdirSync(out).sort(), ['SHA256SUMS', 'SHA256SUMS.sig', report.tarball.name, report.deb.name].sort(), 'exactly the four release files');
  // lintian takes the better part of a minute: start it now, read its verdict in the .deb test.
  const lintian = sh('lintian', ['--fail-on', 'error,warning', '--tag-display-limit', '0', report.deb.path]);

  await t.test('SHA256SUMS and its signature check with stock sha256sum and ssh-keygen', async (t) => {
    const sums = await sh('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out });
    t.equal(sums.code, 0, sums.stderr);
    t.match(sums.stdout, new RegExp(`${report.deb.name}: OK`));
    const verify = await sh(
      'ssh-keygen',
      ['-Y', 'verify', '-f', signers, '-I', PRINCIPAL, '-n', 'airlock-release', '-s', path.join(out, 'SHA256SUMS.sig')],
      { input: readFileSync(path.join(out, 'SHA256SUMS')) },
    );
    t.equal(verify.code, 0, verify.stderr);
    t.match(verify.stdout, /Good "airlock-release" signature for release@example\.org/);
    t.match(
      readFileSync(path.join(out, 'SHA256SUMS.sig'), 'utf8'),
      /^-----BEGIN SSH SIGNATURE-----\n(?:[A-Za-z0-9+/=]{70}\n)+[A-Za-z0-9+/=]{1,70}\n-----END SSH SIGNATURE-----\n$/,
      'armoured as ssh-keygen writes it',
    );
  });

  await t.test('a flipped byte is rejected: in an artifact by sha256sum, in SHA256SUMS by ssh-keygen', async (t) => {
    const tampered = path.join(work, 'tampered');
    mkdirSync(tampered);
    for (const f of readdirSync(out)) cpSync(path.join(out, f), path.join(tampered, f));
    const deb = readFileSync(path.join(tampered, report.deb.name));
    const at = deb.length >> 1;
    deb[at] = deb[at]! ^ 0x01;
    writeFileSync(path.join(tampered, report.deb.name), deb);
    const sums = await sh('sha256sum', ['-c', 'SHA256SUMS'], { cwd: tampered });
    t.not(sums.code, 0);
    t.match(sums.stdout, new RegExp(`${report.deb.name}: FAILED`));

    const list = readFileSync(path.join(out, 'SHA256SUMS'));
    list[3] = list[3] === 0x30 ? 0x31 : 0x30; // one hex digit of the first checksum
    const verify = await sh(
      'ssh-keygen',
      ['-Y', 'verify', '-f', signers, '-I', PRINCIPAL, '-n', 'airlock-release', '-s', path.join(out, 'SHA256SUMS.sig')],
      { input: list },
    );
    t.not(verify.code, 0, 'a changed SHA256SUMS no longer matches its signature');
  });

  await t.test('a release signature never passes as a bundle signature, nor the reverse', async (t) => {
    const sumsBytes = readFileSync(path.join(out, 'SHA256SUMS'));
    const asBundle = await sh(
      'ssh-keygen',
      ['-Y', 'verify', '-f', signers, '-I', PRINCIPAL, '-n', 'airlock', '-s', path.join(out, 'SHA256SUMS.sig')],
      { input: sumsBytes },
    );
    t.not(asBundle.code, 0, 'SHA256SUMS.sig checked as namespace airlock');
    const bundle = await packFixture(t, { source: fixturePath('model-dir'), kind: 'model-dir', name: 'test/replay', signKeys: [key.privatePath] });
    const sig = path.join(bundle.location, 'signatures', readdirSync(path.join(bundle.location, 'signatures'))[0]!);
    const manifest = readFileSync(path.join(bundle.location, 'airlock.json'));
    const control = await sh('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', PRINCIPAL, '-n', 'airlock', '-s', sig], { input: manifest });
    t.equal(control.code, 0, `the bundle signature itself is good: ${control.stderr}`);
    const asRelease = await sh('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', PRINCIPAL, '-n', 'airlock-release', '-s', sig], {
      input: manifest,
    });
    t.not(asRelease.code, 0, 'a bundle signature checked as namespace airlock-release');
  });

  await t.test('the tarball: one folder, production modules only, nothing that must not ship, fixed metadata', async (t) => {
    const listing = await sh('tar', ['--list', '--verbose', '--full-time', '--numeric-owner', '--gzip', `--file=${report.tarball.path}`], {
      env: childEnv({ TZ: 'UTC' }),
    });
    t.equal(listing.code, 0, listing.stderr);
    const rows = listing.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const m = /^(\S+) (\d+)\/(\d+)\s+\d+ (\S+ \S+) (.+)$/.exec(l);
        if (!m) throw new Error(`unexpected tar listing line ${l}`);
        return { mode: m[1]!, uid: m[2]!, gid: m[3]!, time: m[4]!, name: m[5]!.replace(/\/$/, '') };
      });
    const top = `airlock-${pkg.version}-linux-x64`;
    t.same([...new Set(rows.map((r) => r.name.split('/')[0]))], [top], 'one top folder');
    const names = rows.map((r) => r.name.slice(top.length + 1)).filter(Boolean);
    t.ok(
      rows.every((r) => r.uid === '0' && r.gid === '0'),
      'owner 0:0 throughout',
    );
    t.same([...new Set(rows.map((r) => r.time))], ['2026-01-01 00:00:00'], 'every mtime is SOURCE_DATE_EPOCH');
    const byComponents = (a: string, b: string) => {
      const x = a.split('/');
      const y = b.split('/');
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
      return x.length - y.length;
    };
    t.same(names, [...names].sort(byComponents), 'entries in name order');
    const mode = (n: string) => rows.find((r) => r.name === `${top}/${n}`)?.mode;
    t.equal(mode('bin/airlock'), '-rwxr-xr-x');
    t.equal(mode('node/bin/node'), '-rwxr-xr-x');
    for (const required of [
      'node/LICENSE',
      'dist/src/cli/main.js',
      'dist/src/api/ui/index.js',
      'node_modules/fastify/package.json',
      'schema/manifest.schema.json',
      'ui/index.html',
      'systemd/airlock.service',
      'systemd/airlock.service.d/docker.conf',
      'docs/install.md',
      'share/man/man1/airlock.1',
      'share/man/man1/airlock-verify.1',
      'share/bash-completion/completions/airlock',
      'share/zsh/vendor-completions/_airlock',
      'README.md',
      'LICENSE',
      'package.json',
    ]) {
      t.ok(names.includes(required), `ships ${required}`);
    }
    const forbidden = names.filter((n) =>
      /^(test|bench|\.ci|fixtures|src|tools)(\/|$)|^dist\/(test|bench|tools)(\/|$)|^dist\/.*\.map$|(^|\/)demo_ed25519$|\.tsbuildinfo$/.test(n),
    );
    t.same(forbidden, [], 'no tests, benchmarks, CI scripts, fixtures, sources, our source maps or the demo key');
    const prod = (await sh('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: PACKAGE_ROOT })).stdout;
    const devOnly = Object.keys(pkg.devDependencies).filter(
      (d) => !prod.includes(`${path.sep}node_modules${path.sep}${d}\n`) && !prod.endsWith(`node_modules/${d}`),
    );
    t.ok(devOnly.includes('tap') && devOnly.includes('typescript'), `dev-only dependencies known: ${devOnly.join(', ')}`);
    const shipped = devOnly.filter((d) => names.some((n) => n === `node_modules/${d}` || n.startsWith(`node_modules/${d}/`)));
    t.same(shipped, [], 'no dev-only dependency in node_modules');
    t.notOk(
      names.some((n) => n.startsWith('node_modules/ssh2/test/')),
      "ssh2's test suite (private test keys) stays out",
    );
    const shippedPkg = JSON.parse(
      (await sh('tar', ['--extract', '--to-stdout', '--gzip', `--file=${report.tarball.path}`, `${top}/package.json`])).stdout,
    ) as Record<string, unknown>;
    t.same(
      Object.keys(shippedPkg).filter((k) => ['scripts', 'devDependencies', 'tap'].includes(k)),
      [],
      'package.json without scripts or dev dependencies',
    );
    t.equal(shippedPkg['type'], 'module');
  });

  await t.test('offline: the tarball extracts and runs with no network at all (unshare -n)', async (t) => {
    if (
      unavailable(
        t,
        ROOT_ONLY ?? ((await sh('unshare', ['-n', 'true']).catch(() => ({ code: 1 }))).code === 0 ? undefined : 'unshare -n is not available'),
      )
    )
      return;
    const offlineStarted = Date.now();
    const fresh = path.join(work, 'offline');
    mkdirSync(fresh);
    const untar = await sh('unshare', ['-n', 'tar', '-xzf', report.tarball.path, '-C', fresh]);
    t.equal(untar.code, 0, untar.stderr);
    const tree = path.join(fresh, `airlock-${pkg.version}-linux-x64`);
    const cli = path.join(tree, 'bin', 'airlock');
    const offline = (args: string[]) => sh('unshare', ['-n', cli, ...args], { env: noNodeEnv });

    const version = await offline(['--version']);
    t.equal(version.stdout.trim(), `airlock ${pkg.version}`, `the bundled runtime, not the node on PATH: ${version.stderr}`);
    t.equal(
      (await sh('unshare', ['-n', path.join(tree, 'node/bin/node'), '--version'])).stdout.trim(),
      process.version,
      "the build machine's Node.js",
    );

    const bundle = await packFixture(t, { source: fixturePath('model-dir'), kind: 'model-dir', name: 'test/offline', signKeys: [key.privatePath] });
    const verified = await offline(['verify', bundle.location, '--trust', signers]);
    t.equal(verified.code, 0, verified.stderr);
    const installed = await offline(['install', bundle.location, '--store', path.join(fresh, 'store'), '--trust', signers]);
    t.equal(installed.code, 0, installed.stderr);
    const noConfig = await sh('unshare', ['-n', cli, 'daemon'], { env: noNodeEnv, cwd: fresh });
    t.equal(noConfig.code, 2, 'no --config and no demo trust file in a release: a configuration error');
    t.match(noConfig.stderr, /^airlock: CONFIG_INVALID: no --config given/m);

    const daemonDir = path.join(fresh, 'daemon');
    mkdirSync(daemonDir);
    const socket = path.join(daemonDir, 'api.sock');
    const config = {
      dropFolders: ['drop'],
      store: 'store',
      mediaRoots: [],
      trust: { allowedSigners: signers },
      quietPeriodMs: 400,
      api: { socket, tokenFile: 'api-token' },
      runtime: { kind: 'none' },
    };
    writeFileSync(path.join(daemonDir, 'config.json'), JSON.stringify(config));
    const daemon = spawn('unshare', ['-n', cli, 'daemon', '--config', path.join(daemonDir, 'config.json')], {
      env: noNodeEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    daemon.stdout!.setEncoding('utf8').on('data', (c: string) => (logs += c));
    daemon.stderr!.setEncoding('utf8').on('data', (c: string) => (logs += c));
    const exited = once(daemon, 'exit');
    t.teardown(() => {
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    });
    const base = `unix:${socket}`;
    for (let i = 0; !logs.includes('watching for bundles'); i++) {
      if (daemon.exitCode !== null || i > 600) throw new Error(`the daemon did not start: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const health = await apiRequest(base, '/healthz');
    t.match(health, { status: 200, body: { status: 'ok' } }, 'GET /healthz over the unix socket');
    const cmdline = readFileSync(`/proc/${daemon.pid}/cmdline`, 'utf8').split('\0');
    t.same(
      cmdline.slice(0, 3),
      [path.join(tree, 'node/bin/node'), '--max-semi-space-size=4', path.join(tree, 'bin/airlock')],
      "the bundled node, with the launcher's flag",
    );
    t.not(readlinkSync(`/proc/${daemon.pid}/ns/net`), readlinkSync('/proc/self/ns/net'), 'in a network namespace of its own');

    cpSync(bundle.location, path.join(daemonDir, 'drop', 'offline'), { recursive: true });
    let state = '';
    for (let i = 0; !['installed', 'rejected', 'failed'].includes(state); i++) {
      if (i > 600) throw new Error(`the dropped bundle never settled: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
      const answer = await apiRequest<{ bundles: { state: string }[] }>(base, '/v1/bundles');
      state = answer.body.bundles[0]?.state ?? '';
    }
    t.equal(state, 'installed', 'a dropped bundle is verified and installed offline');
    daemon.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    t.equal(code, 0, 'SIGTERM stops it cleanly');
    t.comment(`unshare -n checks ${((Date.now() - offlineStarted) / 1000).toFixed(1)} s`);
  });

  await t.test('the .deb: lintian, dpkg -i, the unit, the user and folders, its daemon, dpkg -r and dpkg -P', async (t) => {
    const linted = await lintian;
    t.equal(linted.code, 0, `lintian --fail-on error,warning: ${linted.stdout}${linted.stderr}`);
    if (unavailable(t, ROOT_ONLY)) return;
    if ((await sh('dpkg-query', ['-W', 'airlock'])).code === 0) {
      t.fail('an airlock package is already installed on this machine; this test installs and purges its own');
      return;
    }
    const dropIn = '/etc/systemd/system/airlock.service.d';
    t.teardown(async () => {
      rmSync(dropIn, { recursive: true, force: true });
      if ((await sh('dpkg-query', ['-W', 'airlock'])).code === 0) await sh('dpkg', ['--purge', 'airlock']);
    });
    const installed = await sh('dpkg', ['--install', report.deb.path]);
    t.equal(installed.code, 0, installed.stderr);
    const version = await sh('/usr/bin/airlock', ['--version'], { env: noNodeEnv });
    t.equal(version.stdout.trim(), `airlock ${pkg.version}`, version.stderr);
    t.equal(readlinkSync('/usr/bin/airlock'), '/opt/airlock/bin/airlock');
    // The man pages and completion scripts, where man and bash-completion look for them (not under /opt).
    const page = await sh('man', ['-w', 'airlock-verify']);
    t.equal(page.stdout.trim(), '/usr/share/man/man1/airlock-verify.1.gz', `man -w airlock-verify: ${page.stderr}`);
    t.match((await sh('man', ['-P', 'cat', 'airlock-verify'], { env: childEnv({ MANWIDTH: '100' }) })).stdout, /--trust ALLOWED_SIGNERS/);
    t.match(readFileSync('/usr/share/bash-completion/completions/airlock', 'utf8'), /^complete -F _airlock airlock$/m);
    t.ok(existsSync('/usr/share/zsh/vendor-completions/_airlock'), 'the zsh completion');
    t.notOk(existsSync('/opt/airlock/share'), 'share/ moved out of /opt');

    const unit = readFileSync('/lib/systemd/system/airlock.service', 'utf8');
    t.match(
      unit,
      /^ExecStart=\/opt\/airlock\/bin\/airlock daemon --config \/etc\/airlock\/config\.json$/m,
      "the artifact's own launcher picks its interpreter",
    );
    t.match(unit, /^SyslogLevelPrefix=yes$/m, 'journald reads the <N> priority prefixes');
    t.match(unit, /^RestartPreventExitStatus=2$/m);
    t.notMatch(unit, /^SupplementaryGroups=/m, 'no docker group in the unit itself: a host without Docker still starts it');
    const analyzed = await sh('systemd-analyze', ['verify', '/lib/systemd/system/airlock.service']);
    t.equal(analyzed.code, 0, `systemd-analyze verify: ${analyzed.stderr}`);
    mkdirSync(dropIn, { recursive: true });
    cpSync('/opt/airlock/systemd/airlock.service.d/docker.conf', path.join(dropIn, 'docker.conf'));
    const withDocker = await sh('systemd-analyze', ['verify', 'airlock.service']);
    t.equal(withDocker.code, 0, `with the docker drop-in: ${withDocker.stderr}`);
    rmSync(dropIn, { recursive: true, force: true });

    const passwd = (await sh('getent', ['passwd', 'airlock'])).stdout.trim().split(':');
    t.ok(Number(passwd[2]) < 1000, `a system user (uid ${passwd[2]})`);
    t.same([passwd[5], passwd[6]], ['/var/lib/airlock', '/usr/sbin/nologin']);
    t.equal((await sh('getent', ['group', 'airlock-operators'])).code, 0, 'the operators group');
    const state = statSync('/var/lib/airlock');
    t.equal(state.uid, Number(passwd[2]), 'the state folder belongs to airlock');
    const drop = statSync('/var/spool/airlock/drop');
    t.equal(drop.mode & 0o7777, 0o2775, 'the drop folder: setgid, group-writable');
    t.equal(drop.gid, Number((await sh('getent', ['group', 'airlock-operators'])).stdout.split(':')[2]));
    t.match(
      (await sh('dpkg-query', ['-W', '-f=${Conffiles}', 'airlock'])).stdout,
      /\/etc\/airlock\/config\.json [0-9a-f]{32}/,
      'config.json is a conffile',
    );
    const verify = await sh('dpkg', ['--verify', 'airlock']);
    t.same([verify.code, verify.stdout], [0, ''], `dpkg --verify (md5sums) is clean: ${verify.stderr}`);

    const asAirlock = (args: string[]) => ['--reuid=airlock', '--regid=airlock', '--init-groups', '--', '/usr/bin/airlock', ...args];
    const noTrust = await sh('setpriv', asAirlock(['daemon', '--config', '/etc/airlock/config.json']), { env: noNodeEnv });
    t.equal(noTrust.code, 2, 'before allowed_signers is in place: exit 2, which the unit does not restart');
    t.match(noTrust.stderr, /^airlock: TRUST_INVALID: /m);
    await runInstalledDaemon(t, asAirlock, noNodeEnv, key.privatePath, signers);

    const removed = await sh('dpkg', ['--remove', 'airlock']);
    t.equal(removed.code, 0, removed.stderr);
    t.same(
      ['/opt/airlock', '/usr/bin/airlock', '/lib/systemd/system/airlock.service'].filter((p) => existsSync(p)),
      [],
      'remove: the program is gone',
    );
    t.same(
      ['/etc/airlock/config.json', '/var/lib/airlock/store'].filter((p) => !existsSync(p)),
      [],
      'remove: config and state stay',
    );

    const purged = await sh('dpkg', ['--purge', 'airlock']);
    t.equal(purged.code, 0, purged.stderr);
    const left = await sh('find', [
      '/etc',
      '/lib/systemd',
      '/usr/bin',
      '/usr/share/doc',
      '/usr/share/man/man1',
      '/usr/share/bash-completion',
      '/usr/share/zsh/vendor-completions',
      '/usr/share/lintian',
      '/opt',
      '/var/lib',
      '/var/spool',
      '-name',
      '*airlock*',
      '-not',
      '-path',
      '/var/lib/docker/*',
    ]);
    t.same(
      left.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .filter((p) => !p.startsWith(PACKAGE_ROOT)),
      [],
      'purge: nothing of the package, its state or its systemd state is left',
    );
    t.notMatch((await sh('dpkg-statoverride', ['--list'])).stdout, /airlock/, 'purge: the drop folder override is gone');
    t.equal((await sh('getent', ['passwd', 'airlock'])).code, 0, 'the system user stays, as Debian policy keeps it');
  });

  await t.test('the release folder packs, verifies and installs as a files bundle, and checks again from the store', async (t) => {
    const packed = await packFixture(t, { source: out, kind: 'files', name: 'airlock/release', signKeys: [key.privatePath] });
    const store = path.join(work, 'bootstrap-store');
    const installed = await airlock(['install', packed.location, '--store', store, '--trust', signers, '--json']);
    t.equal(installed.exitCode, 0, installed.stderr);
    const current = path.join(store, 'models', 'airlock_release', 'current');
    const sums = await sh('sha256sum', ['-c', 'SHA256SUMS'], { cwd: current });
    t.equal(sums.code, 0, `sha256sum -c in the store's copy: ${sums.stderr}`);
    const verify = await sh(
      'ssh-keygen',
      ['-Y', 'verify', '-f', signers, '-I', PRINCIPAL, '-n', 'airlock-release', '-s', path.join(current, 'SHA256SUMS.sig')],
      { input: readFileSync(path.join(current, 'SHA256SUMS')) },
    );
    t.equal(verify.code, 0, verify.stderr);
  });
});

/** The installed daemon as the airlock user: its state folder writable, its drop folder readable, a bundle installed. */
async function runInstalledDaemon(
  t: Test,
  asAirlock: (args: string[]) => string[],
  env: NodeJS.ProcessEnv,
  signKey: string,
  signers: string,
): Promise<void> {
  const trust = '/var/lib/airlock/test-allowed_signers';
  cpSync(signers, trust);
  const socket = '/var/lib/airlock/test-api.sock';
  const config = {
    dropFolders: ['/var/spool/airlock/drop'],
    store: '/var/lib/airlock/store',
    mediaRoots: [],
    trust: { allowedSigners: trust },
    quietPeriodMs: 400,
    api: { socket, tokenFile: '/var/lib/airlock/api-token' },
    runtime: { kind: 'none' },
  };
  writeFileSync('/var/lib/airlock/test-config.json', JSON.stringify(config));
  const daemon = spawn('setpriv', asAirlock(['daemon', '--config', '/var/lib/airlock/test-config.json']), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  daemon.stdout!.setEncoding('utf8').on('data', (c: string) => (logs += c));
  daemon.stderr!.setEncoding('utf8').on('data', (c: string) => (logs += c));
  const exited = once(daemon, 'exit');
  const dropped = '/var/spool/airlock/drop/installed-package';
  try {
    for (let i = 0; !logs.includes('watching for bundles'); i++) {
      if (daemon.exitCode !== null || i > 600) throw new Error(`the installed daemon did not start: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const bundle = await packFixture(t, { source: fixturePath('model-dir'), kind: 'model-dir', name: 'test/installed', signKeys: [signKey] });
    cpSync(bundle.location, dropped, { recursive: true });
    let state = '';
    for (let i = 0; !['installed', 'rejected', 'failed'].includes(state); i++) {
      if (i > 600) throw new Error(`the dropped bundle never settled: ${logs}`);
      await new Promise((r) => setTimeout(r, 100));
      state = (await apiRequest<{ bundles: { state: string }[] }>(`unix:${socket}`, '/v1/bundles')).body.bundles[0]?.state ?? '';
    }
    t.equal(state, 'installed', 'the installed daemon, as user airlock, installs a dropped bundle into /var/lib/airlock/store');
  } finally {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await exited;
    rmSync(dropped, { recursive: true, force: true });
  }
}
