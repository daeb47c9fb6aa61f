// The release build's pure rules (tools/release): what ships, with which mode, the names, the options and
// the text files of the .deb.
import t from 'tap';
import { AirlockError } from '../src/errors.js';
import { sumsText } from '../tools/release/checksums.js';
import { controlText, copyrightText, installedSizeKiB, rfc2822 } from '../tools/release/deb-control.js';
import { defineCommand } from '../src/cli/command.js';
import { commandManPage } from '../tools/release/man-page.js';
import { checkNodeVersion, licenseCandidates } from '../tools/release/node-runtime.js';
import { debianVersion, releaseNames } from '../tools/release/release-layout.js';
import { releaseOptionsFromArgs } from '../tools/release/release-options.js';
import { containsPrivateKey, devPackagesIn, forbiddenReleasePaths, isPrunedInPackage, releaseFileMode } from '../tools/release/tree-rules.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof AirlockError ? err.code : `not an AirlockError: ${String(err)}`;
  }
};

t.test('the demo private key, tests, benchmarks, CI scripts and sources never ship', async (t) => {
  const tree = [
    'bin/airlock',
    'dist/src/cli/main.js',
    'schema/manifest.schema.json',
    'fixtures/keys/demo_ed25519',
    'node_modules/x/fixtures/keys/demo_ed25519',
    'test/',
    'bench/bench.ts',
    '.ci/run',
    'dist/test/a.test.js',
    'dist/bench/bench.js',
    'dist/tools/release/main.js',
    'dist/.tsbuildinfo',
    'src/errors.ts',
    'fixtures/keys/allowed_signers.demo',
  ];
  t.same(forbiddenReleasePaths(tree), tree.slice(3));
});

t.test("dependencies lose their dotfiles, their test suites and node-gyp's intermediate files", async (t) => {
  const gyp = new Set(['lib/protocol/crypto']);
  const pruned = (rel: string, dir = false) => isPrunedInPackage(rel, dir, gyp);
  t.ok(pruned('.npmignore'));
  t.ok(pruned('.github', true));
  t.ok(pruned('deps/cpu_features/.gitattributes'));
  t.ok(pruned('test', true), "ssh2's test/ (with private test keys)");
  t.ok(pruned('test/fixtures/id_rsa'));
  t.notOk(pruned('test'), 'a file named test at the root is code');
  t.notOk(pruned('lib/test', true), 'only the root test folder');
  t.notOk(pruned('lib/protocol/crypto/build', true));
  t.notOk(pruned('lib/protocol/crypto/build/Release', true));
  t.notOk(pruned('lib/protocol/crypto/build/Release/sshcrypto.node'), 'the addon itself stays');
  t.ok(pruned('lib/protocol/crypto/build/Release/obj.target', true));
  t.ok(pruned('lib/protocol/crypto/build/config.gypi'), 'build paths of the build machine');
  t.ok(pruned('lib/protocol/crypto/build/Makefile'));
  t.notOk(pruned('build/index.js'), 'a build/ folder without binding.gyp beside it is code');
  t.notOk(pruned('lib/index.js'));
});

t.test('modes: scripts and executables 0755, shared objects and everything else 0644', async (t) => {
  const elf = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
  t.equal(releaseFileMode('bin/airlock', Buffer.from('#!/bin/sh')), 0o755);
  t.equal(releaseFileMode('node/bin/node', elf), 0o755);
  t.equal(releaseFileMode('node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node', elf), 0o644);
  t.equal(releaseFileMode('lib/libx.so.1', elf), 0o644);
  t.equal(releaseFileMode('node_modules/secure-json-parse/index.js', Buffer.from('use ')), 0o644, 'an executable bit without a reason goes');
  t.equal(releaseFileMode('empty', Buffer.alloc(0)), 0o644);
});

t.test('a private key block is found, code that names its armour is not', async (t) => {
  const body = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
  t.ok(containsPrivateKey(`-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----\n`));
  t.ok(containsPrivateKey(`x\n-----BEGIN RSA PRIVATE KEY-----\r\n${body}\r\n`));
  t.notOk(containsPrivateKey("const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';"));
  t.notOk(containsPrivateKey('/^-----BEGIN (RSA|DSA|EC) PRIVATE KEY-----(?:\\r\\n|\\n)([\\s\\S]+)/'));
  t.notOk(containsPrivateKey(`-----BEGIN PUBLIC KEY-----\n${body}\n`));
});

t.test('only production packages: a dev-only or unlisted package in the staged tree is named', async (t) => {
  const production = ['node_modules/fastify', 'node_modules/fastify/node_modules/cookie'];
  const devOnly = ['node_modules/tap', 'node_modules/typescript'];
  t.same(devPackagesIn(['node_modules/fastify', 'node_modules/fastify/node_modules/cookie'], production, devOnly), []);
  t.same(devPackagesIn(['node_modules/fastify', 'node_modules/tap', 'node_modules/stray'], production, devOnly), [
    'node_modules/tap',
    'node_modules/stray',
  ]);
});

t.test('artifact names and Debian versions', async (t) => {
  t.match(releaseNames('0.1.0'), { topDir: 'airlock-0.1.0-linux-x64', tarball: 'airlock-0.1.0-linux-x64.tar.gz', deb: 'airlock_0.1.0_amd64.deb' });
  t.equal(debianVersion('1.2.0-rc.1'), '1.2.0~rc.1', 'a pre-release sorts before its release');
  t.equal(debianVersion('1.2.0-beta-2+build-5'), '1.2.0~beta.2+build.5', 'no hyphen in a native version');
  t.equal(
    code(() => releaseNames('1.2')),
    'RELEASE_INVALID',
  );
  t.equal(
    code(() => releaseNames('1.2.0; rm -rf /')),
    'RELEASE_INVALID',
  );
});

t.test('release options: one release key or an explicit --unsigned', async (t) => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => releaseOptionsFromArgs(argv, '/work', '/work/release', env);
  t.match(parse(['--sign', 'k']), { signKey: '/work/k', out: '/work/release', debCompression: 'xz', json: false });
  t.match(parse(['--unsigned', '--out', 'r', '--deb-compression', 'gzip', '--json']), { out: '/work/r', debCompression: 'gzip', json: true });
  t.notOk('signKey' in parse(['--unsigned']));
  t.equal(
    code(() => parse([])),
    'USAGE',
    'never unsigned by accident',
  );
  t.equal(
    code(() => parse(['--sign', 'a', '--sign', 'b'])),
    'USAGE',
    'ssh-keygen -Y verify reads one signature',
  );
  t.equal(
    code(() => parse(['--sign', 'a', '--unsigned'])),
    'USAGE',
  );
  t.equal(
    code(() => parse(['--unsigned', '--passphrase-file', 'p'])),
    'USAGE',
  );
  t.equal(
    code(() => parse(['--unsigned', '--deb-compression', 'bzip2'])),
    'USAGE',
  );
  t.equal(
    code(() => parse(['--unsigned', '--maintainer', 'nobody'])),
    'USAGE',
  );
  t.equal(
    code(() => parse(['--unsigned', 'extra'])),
    'USAGE',
  );
  t.match(parse(['--unsigned'], { AIRLOCK_MAINTAINER: 'Ops <ops@example.org>' }), { maintainer: 'Ops <ops@example.org>' });
});

t.test('Node.js: version 20 or later, its license looked for beside it first', async (t) => {
  t.equal(
    code(() => checkNodeVersion('v18.19.0')),
    'RELEASE_INVALID',
    "Debian 12's own nodejs is too old",
  );
  t.equal(
    code(() => checkNodeVersion('v20.0.0')),
    undefined,
  );
  t.equal(
    code(() => checkNodeVersion('v22.3.1')),
    undefined,
  );
  const c = licenseCandidates('/opt/node-v20.11.0-linux-x64/bin/node');
  t.equal(c[0], '/opt/node-v20.11.0-linux-x64/LICENSE', "the official tarball's LICENSE");
  t.ok(c.includes('/usr/share/doc/nodejs/LICENSE'));
});

t.test('SHA256SUMS is sha256sum text, sorted, plain names only', async (t) => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  t.equal(
    sumsText([
      { name: 'z.deb', sha256: b },
      { name: 'a.tar.gz', sha256: a },
    ]),
    `${a}  a.tar.gz\n${b}  z.deb\n`,
  );
  t.equal(
    code(() => sumsText([{ name: '../x', sha256: a }])),
    'INTERNAL',
  );
  t.equal(
    code(() => sumsText([{ name: 'a b', sha256: a }])),
    'INTERNAL',
  );
});

t.test('the .deb text files', async (t) => {
  const control = controlText({ debVersion: '0.1.0', maintainer: 'M <m@example.org>', shlibsDepends: 'libc6 (>= 2.34)', installedSize: 42 });
  t.match(control, /^Package: airlock\nVersion: 0\.1\.0\nArchitecture: amd64\n/);
  t.match(control, /^Depends: adduser, libc6 \(>= 2\.34\)$/m, 'adduser for postinst; no nodejs');
  t.notMatch(control, /nodejs/);
  t.match(control, /\n$/);
  t.equal(
    installedSizeKiB([
      { dir: true, size: 0 },
      { dir: false, size: 1 },
      { dir: false, size: 2049 },
      { dir: false, link: true, size: 0 },
    ]),
    1 + 1 + 3 + 1,
  );
  const copyright = copyrightText({
    year: 2026,
    nodeVersion: 'v20.1.0',
    modules: [
      { rel: 'node_modules/b', name: 'b', version: '2.0.0', license: 'ISC' },
      { rel: 'node_modules/a', name: 'a', version: '1.0.0', license: 'MIT' },
    ],
  });
  t.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\//);
  t.match(copyright, / a 1\.0\.0: MIT\n b 2\.0\.0: ISC\n/);
  t.equal(rfc2822(new Date(Date.UTC(2026, 10, 27, 23, 57, 5))), 'Fri, 27 Nov 2026 23:57:05 +0000');
});

t.test('man page: no text of a command spec can turn into roff requests', async (t) => {
  const spec = defineCommand({
    name: 'x',
    summary: 'summary',
    description: ['.SH INJECTED at the start of a paragraph', "'br and back\\slash --json … ok"],
    positionals: [{ name: 'ARG', description: '.TH another title' }],
    options: [{ flag: '--json', description: `'\\" a comment` }],
  });
  const page = commandManPage(spec, { version: '0.1.0', date: '2026-11-27' }).text;
  t.match(page, /^\.TH AIRLOCK\\-X 1 "2026-11-27" "airlock 0\.1\.0"/);
  t.match(page, /^\\&\.SH INJECTED at the start of a paragraph$/m);
  t.match(page, /^\\&'br and back\\eslash \\-\\-json \\\[u2026\] ok$/m);
  t.match(page, /^\\&\.TH another title$/m);
  t.match(page, /^\\&'\\e" a comment$/m);
  t.same(
    page.match(/^\.S[HS] .*/gm),
    ['.SH NAME', '.SH SYNOPSIS', '.SH DESCRIPTION', '.SH ARGUMENTS', '.SH OPTIONS', '.SS Options', '.SH EXIT STATUS', '.SH SEE ALSO'],
    'only its own sections',
  );
});
