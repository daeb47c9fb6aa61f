// airlock inspect: what a bundle claims, from its manifest and signatures alone (no payload byte is read).
import type { OpenedBundle } from '../../bundle/open-bundle.js';
import { summarize } from '../../bundle/verify.js';
import { PARTS_NAMESPACE } from '../../format/layout.js';
import { describeSignatures, evaluateSignatures, type SignatureInput } from '../../trust/policy.js';
import { BUNDLE_ARGUMENT, bundleSource } from '../bundle-arg.js';
import { defineCommand, writeJson, writeLines, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION } from '../common-options.js';
import { LIMIT_OPTIONS, limitsFromOptions } from '../limit-options.js';
import { signerLines, summaryLines } from '../report-lines.js';
import { OPTIONAL_TRUST_OPTIONS, optionalTrust } from '../trust-options.js';

export const spec = defineCommand({
  name: 'inspect',
  summary: 'show what a bundle claims (no payload read): profiles, images, totals, signers',
  description: [
    'Reads only the manifest and signatures. Each signature is shown with its key fingerprint as ssh-keygen -l prints it and, with --trust, the principals it maps to; with --revoked, signatures by the listed keys are shown as revoked.',
    "The manifest is shown whoever signed it: inspect is for looking, verify and install are for trusting. A split bundle's parts index signatures (namespace airlock-parts) are shown the same way.",
    'With BUNDLE -, only the head of the tar on standard input is read (the manifest and the signatures right after it); inspect then stops reading, so the sender sees a closed pipe.',
  ],
  positionals: [BUNDLE_ARGUMENT],
  options: [...OPTIONAL_TRUST_OPTIONS, ...LIMIT_OPTIONS, JSON_OPTION],
  jsonSchema: 'inspect-report',
  seeAlso: ['verify'],
});

export async function run({ values, positionals }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  const source = bundleSource(positionals.BUNDLE, io, 'inspect', false);
  const header = await source.open(limitsFromOptions(values['max-manifest-size']));
  try {
    // Parsed without judging the signatures: a person asked to look at it.
    return await show(header.parse(), values, io);
  } finally {
    await header.close();
  }
}

async function show(
  bundle: OpenedBundle,
  values: { trust?: string | undefined; revoked?: string | undefined; json: boolean },
  io: CliIO,
): Promise<number> {
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
  // A split bundle's parts index carries signatures of its own (namespace airlock-parts).
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
