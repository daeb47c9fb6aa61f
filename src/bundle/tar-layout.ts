// The order of a bundle's tar, as docs/format.md ("The tar form") states it: airlock.json first and only once, then signatures, then
// images, then payload, regular files only. Pure: fed each entry's header in order, it names what breaks it.
import type { Failure } from '../errors.js';
import { IMAGES_DIR, MANIFEST_NAME, PAYLOAD_DIR, SIGNATURES_DIR, SIGNATURE_SUFFIX } from '../format/layout.js';
import type { EntryKind } from './entry-checker.js';

const STAGES = ['manifest', 'signatures', 'images', 'payload'] as const;
type Stage = (typeof STAGES)[number];

/** `signatures/NAME.sig`, one level deep. */
export function isSignatureEntry(p: string): boolean {
  return p.startsWith(`${SIGNATURES_DIR}/`) && p.endsWith(SIGNATURE_SUFFIX) && !p.slice(SIGNATURES_DIR.length + 1).includes('/');
}

export class TarLayout {
  private stage: Stage | undefined;

  constructor(private readonly origin: string) {}

  /** The failure this entry, coming next, is; undefined when it is where it belongs. */
  next(path: string, kind: EntryKind): Failure | undefined {
    if (this.stage === undefined) {
      if (path !== MANIFEST_NAME || kind !== 'file')
        return { code: 'MANIFEST_NOT_FIRST', path, message: `${this.origin}: the first tar entry is ${path}, not a regular ${MANIFEST_NAME}` };
      this.stage = 'manifest';
      return undefined;
    }
    if (kind !== 'file')
      return { code: 'WRONG_TYPE', path, message: `${this.origin}: ${path} is a ${kind}; a bundle's tar holds regular files only` };
    if (path === MANIFEST_NAME) return { code: 'TAR_INVALID', path, message: `${this.origin} holds a second ${MANIFEST_NAME}` };
    const stage = stageOf(path);
    if (stage === 'signatures' && !isSignatureEntry(path))
      return { code: 'UNLISTED_FILE', path, message: `${this.origin}: ${path} is not a signature (signatures/NAME.sig)` };
    if (stage === undefined) return undefined;
    if (STAGES.indexOf(stage) < STAGES.indexOf(this.stage)) {
      return {
        code: 'TAR_INVALID',
        path,
        message: `${this.origin}: ${path} comes after the ${this.stage}; the order is ${MANIFEST_NAME}, signatures, images, payload`,
      };
    }
    this.stage = stage;
    return undefined;
  }
}

function stageOf(path: string): Stage | undefined {
  if (path.startsWith(`${SIGNATURES_DIR}/`)) return 'signatures';
  if (path.startsWith(`${IMAGES_DIR}/`)) return 'images';
  if (path.startsWith(`${PAYLOAD_DIR}/`)) return 'payload';
  return undefined;
}
