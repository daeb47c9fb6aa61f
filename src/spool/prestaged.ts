// The install's view of a drop's spool: which entries were verified while the drop arrived, and where their
// copies are. Only for the very manifest the copies were verified against, and only while each file is still
// the one its copy was made from (same stamp); anything else is read from the drop as always.
import { sameStamp, type Prestaged } from '../format/payload.js';
import { Spool } from './spool.js';

export async function prestagedFor(root: string, location: string, manifestDigest: string): Promise<Prestaged | undefined> {
  const spool = await Spool.open(root, location);
  if (!spool || spool.header.manifestDigest !== manifestDigest) return undefined;
  const held = new Set([...spool.entries.values()].map((e) => e.sha256));
  return {
    lookup(exp, stamp) {
      const e = spool.entries.get(exp.path);
      if (!e || e.sha256 !== exp.sha256 || e.size !== exp.size || !sameStamp(e.stamp, stamp)) return undefined;
      return spool.blobPath(e.sha256);
    },
    holds: (sha256) => held.has(sha256),
  };
}
