// Ingest path confinement: over HTTP, only files inside the folders the service was started with (--root) can be
// read. Paths are compared after resolving symlinks, so neither `..` nor a link pointing elsewhere gets out.
import { promises as fs } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { SieveError } from '../errors.js';

/** True when `child` is `parent` or below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export class IngestRoots {
  private constructor(
    /** Real paths of the roots (symlinks resolved). */
    readonly dirs: readonly string[],
  ) {}

  /** Resolves and checks the configured roots: each must be an existing folder. */
  static async create(roots: readonly string[]): Promise<IngestRoots> {
    const dirs: string[] = [];
    for (const root of roots) {
      let real: string;
      try {
        real = await fs.realpath(resolve(root));
      } catch {
        throw new SieveError('CONFIG_INVALID', `--root ${root} does not exist`, { root });
      }
      if (!(await fs.stat(real)).isDirectory()) throw new SieveError('CONFIG_INVALID', `--root ${root} is not a folder`, { root });
      dirs.push(real);
    }
    return new IngestRoots(dirs);
  }

  get enabled(): boolean {
    return this.dirs.length > 0;
  }

  /**
   * Where a path may point among what was ingested under the roots, without touching the file system (a file to
   * forget may be gone from disk): an absolute path inside a root, or a relative one against each root in turn.
   * INGEST_NOT_ALLOWED without roots; PATH_OUTSIDE_ROOT when no reading lies inside a root.
   */
  candidates(given: string): string[] {
    if (!this.enabled) {
      throw new SieveError('INGEST_NOT_ALLOWED', 'changing the index over HTTP is off: sieve serve was started without --root');
    }
    if (given.includes('\0')) throw new SieveError('REQUEST_INVALID', 'a path contains a NUL character');
    const readings = isAbsolute(given) ? [resolve(given)] : this.dirs.map((root) => resolve(root, given));
    const inside = readings.filter((c) => this.dirs.some((root) => isInside(root, c)));
    if (inside.length === 0) {
      throw new SieveError('PATH_OUTSIDE_ROOT', `${JSON.stringify(given)} is outside the allowed roots (${this.dirs.join(', ')})`, { path: given });
    }
    return inside;
  }

  /**
   * The real path of a requested ingest path, or an error: INGEST_NOT_ALLOWED without roots, PATH_OUTSIDE_ROOT for
   * `..` escapes, absolute paths elsewhere and symlinks resolving elsewhere, PATH_NOT_FOUND when it does not exist.
   * A relative path is tried against each root in turn.
   */
  async resolve(given: string): Promise<string> {
    // Lexical check first: `..` that climbs out of every root is refused before touching the file system.
    const lexical = this.candidates(given);
    let escaped = false;
    for (const candidate of lexical) {
      let real: string;
      try {
        real = await fs.realpath(candidate);
      } catch {
        continue; // not under this root; try the next
      }
      if (this.dirs.some((root) => isInside(root, real))) return real;
      escaped = true;
    }
    if (escaped) {
      throw new SieveError('PATH_OUTSIDE_ROOT', `${JSON.stringify(given)} is a symlink (or under one) that resolves outside the allowed roots`, { path: given });
    }
    throw new SieveError('PATH_NOT_FOUND', `no file or folder ${JSON.stringify(given)} under the allowed roots`, { path: given });
  }
}
