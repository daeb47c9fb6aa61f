// airlock sign: add an SSHSIG signature over a bundle's manifest, never touching the bundle's other bytes.
import path from 'node:path';
import { openBundle, type OpenedBundle } from '../../bundle/open-bundle.js';
import { AirlockError } from '../../errors.js';
import { PARTS_NAMESPACE, SIGNATURE_NAMESPACE } from '../../format/layout.js';
import { agentSigner } from '../../trust/agent-signer.js';
import { lacksUserPresence } from '../../trust/key-signature.js';
import { signerForKeyFile } from '../../trust/key-file-signer.js';
import { terminalPrompt } from '../../trust/passphrase-prompt.js';
import { fingerprint, sameKey, type PublicKey } from '../../trust/public-key.js';
import { checkLabel, defaultLabel, writeSignatureFile } from '../../trust/signature-file.js';
import type { SshsigSigner } from '../../trust/signer.js';
import { parseSshsig, verifySshsig } from '../../trust/sshsig.js';
import type { SignatureInput } from '../../trust/policy.js';
import { onePositional, parseCommandArgs, writeLines, type CliIO } from '../command.js';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFromOptions } from '../limit-options.js';

export const summary = 'sign or countersign a bundle with an OpenSSH key: a key file, a security key, or ssh-agent';
export const usage = `usage: airlock sign BUNDLE (--key KEY | --agent FINGERPRINT|PUBKEY) [--label LABEL] [--passphrase-file FILE] [--max-manifest-size SIZE]
  Signs the exact bytes of airlock.json as \`ssh-keygen -Y sign -n airlock\` would (SSHSIG, sha512).
  BUNDLE is a bundle directory (writes signatures/LABEL.sig), a *.airlock.tar, a *.airlock.parts.json
  or its first part (writes <base>.airlock.signatures/LABEL.sig beside it; the tar is never rewritten).
  A split bundle's parts index is countersigned too, under its own namespace (as ssh-keygen -Y sign
  -n airlock-parts would): <base>.airlock.parts.signatures/LABEL.sig.
  --key KEY    an ed25519 private key file (signed by airlock), or a security key's file from
               ssh-keygen -t ed25519-sk / ecdsa-sk (signed by ssh-keygen: touch the token when asked).
  --agent FINGERPRINT|PUBKEY  a key held by ssh-agent (SSH_AUTH_SOCK): its SHA256: fingerprint as
               ssh-add -l prints it, or its .pub file.
  LABEL ([A-Za-z0-9][A-Za-z0-9._-]{0,63}) defaults to the key's comment made filename-safe.
  A passphrase-protected key asks on the terminal, or reads the passphrase from --passphrase-file.
${LIMIT_USAGE}`;

/** Where new signatures for this bundle go: inside a directory bundle, beside a tar or split one. */
function signatureDir(bundle: OpenedBundle): string {
  if (!bundle.signatureDir) throw new AirlockError('INTERNAL', `${bundle.location} has no place for signatures`);
  return bundle.signatureDir;
}

/** An existing signature by the same key over these bytes: a second one would not count (threshold counts keys). */
function existingSignatureBy(signatures: SignatureInput[], message: Buffer, namespace: string, key: PublicKey): string | undefined {
  for (const s of signatures) {
    try {
      const sig = parseSshsig(s.bytes, s.name);
      // An untouched security-key signature never counts, so it does not stand in the way of a touched one.
      if (sameKey(sig.publicKey, key) && !verifySshsig(message, sig, namespace) && !lacksUserPresence(sig.signature)) return s.name;
    } catch {
      // someone else's malformed signature is verify's business, not ours
    }
  }
  return undefined;
}

const OPTIONS = {
  key: { type: 'string' },
  agent: { type: 'string' },
  label: { type: 'string' },
  'passphrase-file': { type: 'string' },
  ...LIMIT_OPTIONS,
} as const;

async function chooseSigner(values: { key?: string; agent?: string; 'passphrase-file'?: string }, io: CliIO): Promise<SshsigSigner> {
  if ((values.key === undefined) === (values.agent === undefined))
    throw new AirlockError('USAGE', `give exactly one of --key KEY and --agent FINGERPRINT|PUBKEY\n${usage}`, { path: '--key' });
  if (values.agent !== undefined) return agentSigner(values.agent, { env: io.env, cwd: io.cwd });
  const passphraseFile = values['passphrase-file'] === undefined ? undefined : path.resolve(io.cwd, values['passphrase-file']);
  const prompt = terminalPrompt(io.stdin, io.stderr);
  return signerForKeyFile(path.resolve(io.cwd, values.key!), {
    ...(passphraseFile ? { passphraseFile } : {}),
    ...(prompt ? { prompt } : {}),
    warn: (m) => writeLines(io, [`airlock: warning: ${m}`], 'stderr'),
    stderr: io.stderr,
    env: io.env,
  });
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, usage);
  const location = path.resolve(io.cwd, onePositional(positionals, 'BUNDLE', usage));
  const label = values.label === undefined ? undefined : checkLabel(values.label);

  const bundle = await openBundle(location, { limits: limitsFromOptions(values['max-manifest-size']) }); // parses and validates airlock.json before we vouch for it
  try {
    return await signOpened(bundle, values, label, io);
  } finally {
    await bundle.close();
  }
}

async function signOpened(
  bundle: OpenedBundle,
  values: { key?: string; agent?: string; 'passphrase-file'?: string },
  label: string | undefined,
  io: CliIO,
): Promise<number> {
  const signer = await chooseSigner(values, io);
  const key = signer.public;
  const lines = [
    `bundle       ${bundle.manifest.id} (manifest sha256 ${bundle.digest})`,
    `key          ${fingerprint(key)} ${key.type}${key.comment ? ` ${key.comment}` : ''} (via ${signer.via})`,
  ];
  const targets = [{ message: bundle.manifestBytes, namespace: SIGNATURE_NAMESPACE, signatures: bundle.signatures, dir: signatureDir(bundle) }];
  const p = bundle.partsIndex;
  if (p) targets.push({ message: p.bytes, namespace: PARTS_NAMESPACE, signatures: p.signatures, dir: p.signatureDir });
  for (const target of targets) {
    const already = existingSignatureBy(target.signatures, target.message, target.namespace, key);
    if (already) {
      lines.push(`already signed by ${fingerprint(key)} in ${already}; nothing written`);
      continue;
    }
    const text = await signer.sign(target.message, target.namespace); // checked to verify before it is written
    const { file, outcome } = await writeSignatureFile(target.dir, label ?? defaultLabel(key), text);
    lines.push(`${(outcome === 'written' ? 'wrote' : 'unchanged').padEnd(13)}${file}`);
  }
  writeLines(io, lines);
  return 0;
}
