// What pack's walk of SOURCE finds: the files it will carry (with the identity it saw) and the links it records.

export interface SourceFile {
  type: 'file';
  /** Tree-relative, /-separated. */
  path: string;
  size: number;
  executable: boolean;
  /** the identity the walk saw: the file pack opens later must be this one */
  dev: number;
  ino: number;
}

export interface SourceSymlink {
  type: 'symlink';
  path: string;
  target: string;
}

export type SourceEntry = SourceFile | SourceSymlink;
