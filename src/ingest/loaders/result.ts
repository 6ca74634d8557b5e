// What a loader returns for one file, and the shape of a file it had to skip.
import type { ErrorCode } from '../../errors.js';
import type { LoadedDocument } from '../../types.js';
import type { IngestProblem } from '../walk.js';

export interface LoadResult {
  documents: LoadedDocument[];
  problems: IngestProblem[];
}

/** A file skipped with one problem: nothing loaded, so nothing stored for it changes. */
export function skipped(filePath: string, code: ErrorCode, message: string): LoadResult {
  return { documents: [], problems: [{ path: filePath, code, message }] };
}
