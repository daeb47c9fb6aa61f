// What a bundle's record says about its parts when they travel on several sticks (src/spool/): how many are
// safe in the store, which sticks may be removed, which copies were refused. Types only.

export interface PartsStick {
  /** the stick's name (its mount point's folder name), or the folder's name below a drop folder */
  label: string;
  /** its mount point, or the folder */
  path: string;
  /** under a media root (a removable stick) rather than a drop folder */
  media: boolean;
  /** still mounted / present */
  present: boolean;
  /** parts spooled from it */
  partsReceived: number;
  /** nothing on it is still needed or being read */
  removable: boolean;
}

export interface PartsRejection {
  part: string;
  /** the stick (or folder) the copy was on, in words */
  stick: string;
  /** the copy's path */
  path: string;
  code: string;
  message: string;
  at: string;
}

export interface PartsArrival {
  /** parts verified against the signed index and kept in the store's spool */
  received: number;
  total: number;
  bytesReceived: number;
  bytesTotal: number;
  /** parts whose tar entries have been unpacked and verified against the manifest */
  unpackedParts: number;
  /** the copy being read now */
  reading?: { part: string; stick: string; bytesDone: number; bytes: number };
  sticks: PartsStick[];
  /** refused copies, the newest last (at most 20) */
  rejected: PartsRejection[];
  /** second copies of spooled parts that matched and were ignored */
  duplicates: number;
  /** in words: "parts 4 of 9 received; stick STICK-A may be removed; waiting for 5 more part(s)" */
  message: string;
}
