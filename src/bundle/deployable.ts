// Would a bundle ever deploy? Decided before pack reads a byte, from the kind asked for, the profiles given and
// a look at SOURCE (source-look.ts). Pure. Only plain contradictions count: an unknown layout is given the benefit.
import type { BundleKind } from '../format/manifest.js';
import type { SourceLook } from './source-look.js';

export interface DeployProblem {
  code: 'KIND_MISMATCH' | 'USAGE';
  /** the flag the problem is about */
  flag: '--kind' | '--profile';
  message: string;
}

export function deployProblems(kind: BundleKind, profiles: number, look: SourceLook): DeployProblem[] {
  const problems: DeployProblem[] = [];
  if (kind === 'nim-cache') {
    if (!look.nimCache) {
      const other = look.modelStore
        ? '; it looks like a model store (trtllm_engine/): give --kind model-store'
        : look.modelDir
          ? `; it looks like a model folder (${look.modelDir}): give --kind model-dir`
          : '';
      problems.push({
        code: 'KIND_MISMATCH',
        flag: '--kind',
        message: `SOURCE is not a NIM cache: it holds no ngc/hub/models--… (nor huggingface/hub/models--…) folder, so NIM would find nothing to serve${other}`,
      });
    }
    if (profiles === 0) {
      problems.push({
        code: 'USAGE',
        flag: '--profile',
        message:
          'a nim-cache bundle needs at least one --profile ID: NIM is started with NIM_MODEL_PROFILE, and the daemon takes it from the manifest (airlock fetch --list shows the ids)',
      });
    }
  } else if ((kind === 'model-store' || kind === 'model-dir') && look.nimCache) {
    problems.push({
      code: 'KIND_MISMATCH',
      flag: '--kind',
      message: `SOURCE looks like a NIM cache (${look.nimCache}), not a ${kind}: NIM_MODEL_PATH would point at the cache's root; give --kind nim-cache --profile ID`,
    });
  }
  return problems;
}
