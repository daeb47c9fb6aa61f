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
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION } from '../common-options.js';
import { LIMIT_OPTIONS, limitsFromOptions } from '../limit-options.js';
import { writableOutput } from '../store-access.js';

export const spec = defineCommand({
  name: 'sign',
  summary: 'sign or countersign a bundle with an OpenSSH key: a key file, a security key, or ssh-agent',
  synopsis: ['BUNDLE (--key KEY | --agent FINGERPRINT|PUBKEY) [--label LABEL] [--passphrase-file FILE] [options]'],
  description: [
    'Signs the exact bytes of airlock.json as `ssh-keygen -Y sign -n airlock` would (SSHSIG, sha512). A directory bundle gets signatures/LABEL.sig; a *.airlock.tar, a *.airlock.parts.json or its first part gets <base>.airlock.signatures/LABEL.sig beside it (the tar is never rewritten).',
    "A split bundle's parts index is countersigned too, under its own namespace (as ssh-keygen -Y sign -n airlock-parts would): <base>.airlock.parts.signatures/LABEL.sig.",
    "LABEL ([A-Za-z0-9][A-Za-z0-9._-]{0,63}) defaults to the key's comment made filename-safe. A passphrase-protected key asks on the terminal, or reads the passphrase from --passphrase-file. A key that already signed these bytes writes nothing (exit 0).",
  ],
  positionals: [
    {
      name: 'BUNDLE',
      complete: 'file',
      description: 'the bundle to sign: a directory, a *.airlock.tar, a *.airlock.parts.json index or its first part',
    },
  ],
  options: [
    {
      flag: '--key',
      value: 'KEY',
      complete: 'file',
      description:
        "an ed25519 private key file (signed by airlock), or a security key's file from ssh-keygen -t ed25519-sk / ecdsa-sk (signed by ssh-keygen: touch the token when asked)",
      group: 'Signing',
    },
    {
      flag: '--agent',
      value: 'FINGERPRINT|PUBKEY',
      complete: 'file',
      description: 'a key held by ssh-agent (SSH_AUTH_SOCK): its SHA256: fingerprint as ssh-add -l prints it, or its .pub file',
      group: 'Signing',
    },
    {
      flag: '--label',
      value: 'LABEL',
      complete: 'none',
      description: "the signature file's name, LABEL.sig (default: from the key's comment)",
      group: 'Signing',
    },
    {
      flag: '--passphrase-file',
      value: 'FILE',
      complete: 'file',
      description: "read the key's passphrase from FILE instead of asking",
      group: 'Signing',
    },
    ...LIMIT_OPTIONS,
    JSON_OPTION,
  ],
  jsonSchema: 'sign-report',
  environment: [{ name: 'SSH_AUTH_SOCK', description: 'the ssh-agent --agent asks' }],
  seeAlso: ['keygen', 'pack', 'verify'],
});

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

async function chooseSigner(
  values: { key?: string | undefined; agent?: string | undefined; 'passphrase-file'?: string | undefined },
  io: CliIO,
): Promise<SshsigSigner> {
  if ((values.key === undefined) === (values.agent === undefined))
    throw new AirlockError('USAGE', 'give exactly one of --key KEY and --agent FINGERPRINT|PUBKEY', { path: '--key' });
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

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const location = path.resolve(io.cwd, positionals.BUNDLE);
  const label = values.label === undefined ? undefined : checkLabel(values.label);

  const bundle = await openBundle(location, { limits: limitsFromOptions(values['max-manifest-size']) }); // parses and validates airlock.json before we vouch for it
  try {
    return await signOpened(bundle, values, label, io);
  } finally {
    await bundle.close();
  }
}

async function signOpened(bundle: OpenedBundle, values: ParsedArgs<typeof spec>['values'], label: string | undefined, io: CliIO): Promise<number> {
  const signer = await chooseSigner(values, io);
  const key = signer.public;
  const keyInfo = { fingerprint: fingerprint(key), type: key.type, comment: key.comment ?? '', via: signer.via };
  const bundleInfo = { id: bundle.manifest.id, manifestDigest: bundle.digest, location: bundle.location };
  // The manifest, and a split bundle's parts index under its own namespace (docs/parts.md).
  const signOne = async (message: Buffer, namespace: string, signatures: SignatureInput[], dir: string) => {
    const already = existingSignatureBy(signatures, message, namespace, key);
    if (already) return { outcome: 'already-signed' as const, signature: already };
    const text = await signer.sign(message, namespace); // checked to verify before it is written
    const { file, outcome } = await writableOutput(dir, () => writeSignatureFile(dir, label ?? defaultLabel(key), text));
    return { outcome, signature: file };
  };
  const manifest = await signOne(bundle.manifestBytes, SIGNATURE_NAMESPACE, bundle.signatures, signatureDir(bundle));
  const p = bundle.partsIndex;
  const parts = p ? await signOne(p.bytes, PARTS_NAMESPACE, p.signatures, p.signatureDir) : undefined;
  if (values.json) {
    writeJson(io, { ok: true, ...manifest, bundle: bundleInfo, key: keyInfo, ...(parts ? { partsIndex: parts } : {}) });
    return 0;
  }
  const line = (r: { outcome: string; signature: string }) =>
    r.outcome === 'already-signed'
      ? `already signed by ${fingerprint(key)} in ${r.signature}; nothing written`
      : `${(r.outcome === 'written' ? 'wrote' : 'unchanged').padEnd(13)}${r.signature}`;
  const fresh = [manifest, ...(parts ? [parts] : [])].some((r) => r.outcome !== 'already-signed');
  writeLines(io, [
    ...(fresh
      ? [
          `bundle       ${bundle.manifest.id} (manifest sha256 ${bundle.digest})`,
          `key          ${fingerprint(key)} ${key.type}${key.comment ? ` ${key.comment}` : ''} (via ${signer.via})`,
        ]
      : []),
    line(manifest),
    ...(parts ? [line(parts)] : []),
  ]);
  return 0;
}
