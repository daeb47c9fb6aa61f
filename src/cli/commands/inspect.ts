import { openBundle, type OpenedBundle } from '../../bundle/open-bundle.js';
import { summarize } from '../../bundle/verify.js';
import { PARTS_NAMESPACE } from '../../format/layout.js';
import { describeSignatures, evaluateSignatures, type SignatureInput } from '../../trust/policy.js';
import { onePositional, parseCommandArgs, writeJson, writeLines, type CliIO } from '../command.js';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFromOptions } from '../limit-options.js';
import { signerLines, summaryLines } from '../report-lines.js';
import { optionalTrust } from '../trust-options.js';

export const summary = 'show what a bundle claims (no payload read): profiles, images, totals, signers';
export const usage = `usage: airlock inspect BUNDLE [--trust ALLOWED_SIGNERS] [--revoked FILE] [--max-manifest-size SIZE] [--json]
  Reads only the manifest and signatures. Each signature is shown with its key fingerprint as
  ssh-keygen -l prints it and, with --trust, the principals it maps to; with --revoked, signatures
  by the listed keys are shown as revoked. The manifest is shown whoever signed it: inspect is for
  looking, verify and install are for trusting. A split bundle's parts index signatures (namespace
  airlock-parts) are shown the same way.
${LIMIT_USAGE}`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { trust: { type: 'string' }, revoked: { type: 'string' }, json: { type: 'boolean' }, ...LIMIT_OPTIONS },
    usage,
  );
  const bundle = await openBundle(onePositional(positionals, 'BUNDLE', usage), { limits: limitsFromOptions(values['max-manifest-size']) });
  try {
    return await show(bundle, values, io);
  } finally {
    await bundle.close();
  }
}

async function show(bundle: OpenedBundle, values: { trust?: string; revoked?: string; json?: boolean }, io: CliIO): Promise<number> {
  const m = bundle.manifest;
  const trust = await optionalTrust(values, io);
  const revoked = trust.revokedKeys ? { revoked: trust.revokedKeys } : {};
  const judge = (bytes: Buffer, signatures: SignatureInput[], namespace?: string) =>
    trust.allowedSigners
      ? evaluateSignatures(bytes, signatures, trust.allowedSigners, {
          threshold: 1,
          now: new Date(),
          ...revoked,
          ...(namespace ? { namespace } : {}),
        }).signers
      : describeSignatures(bytes, signatures, trust.revokedKeys, namespace);
  const signers = judge(bundle.manifestBytes, bundle.signatures);
  const p = bundle.partsIndex;
  const partsSigners = p ? judge(p.bytes, p.signatures, PARTS_NAMESPACE) : undefined;
  const info = {
    bundle: summarize(bundle),
    profiles: m.profiles,
    images: m.images,
    signers,
    ...(bundle.parts ? { parts: bundle.parts } : {}),
    ...(partsSigners ? { partsSigners } : {}),
  };
  if (values.json) {
    writeJson(io, info);
    return 0;
  }
  const lines = [...summaryLines(info.bundle), `profiles (${m.profiles.length}):`];
  for (const p of m.profiles) {
    const tags = Object.entries(p.tags ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`  ${p.id}  ${p.name ?? ''}${tags ? `  [${tags}]` : ''}`);
  }
  lines.push(`images (${m.images.length}):`);
  for (const i of m.images) lines.push(`  ${i.ref}  ${i.id}  ${i.archive}`);
  if (bundle.parts) lines.push(`parts (${bundle.parts.parts.length}): ${bundle.parts.parts.map((p) => p.name).join(' ')}`);
  lines.push(`signatures${values.trust ? '' : ' (no --trust given: principals unknown)'}:`, ...signerLines(signers));
  if (partsSigners) lines.push('parts index signatures (namespace airlock-parts):', ...signerLines(partsSigners));
  writeLines(io, lines);
  return 0;
}
