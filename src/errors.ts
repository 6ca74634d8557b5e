// The single error catalogue: every failure a user can meet has a code, a message that says what happened,
// and a hint that says what to do. CLI and HTTP map codes to exit codes and statuses; nothing else parses messages.

const CATALOGUE = {
  CONFIG_INVALID: { exit: 2, http: 400, hint: 'Check the option or environment variable named above.' },
  PATH_NOT_FOUND: { exit: 2, http: 404, hint: 'Check the path exists and is readable.' },
  FILE_UNREADABLE: { exit: 1, http: 422, hint: 'Check the file\'s permissions, or re-save it as UTF-8 if the message says it could not be decoded; the file was skipped and nothing stored was changed.' },
  FILE_BINARY: { exit: 1, http: 422, hint: 'Binary files are not indexed; the file was skipped.' },
  FILE_TOO_LARGE: { exit: 1, http: 413, hint: 'Raise the limit to index it (sieve ingest --max-file-mb N, or "ingest": {"maxFileMb": N} in the home\'s config.json); the file was skipped.' },
  FILE_EMPTY: { exit: 1, http: 422, hint: 'The file has no text to index; it was skipped.' },
  JSONL_MALFORMED: { exit: 1, http: 422, hint: 'Fix the reported lines; the other lines were ingested.' },
  QUESTION_EMPTY: { exit: 2, http: 400, hint: 'Ask a question with at least one word or number in it.' },
  SCOPE_EMPTY: { exit: 1, http: 422, hint: 'No ingested chunk lies in the scope: check the paths (folders or files that were ingested) and document ids.' },
  STORE_EMPTY: { exit: 1, http: 409, hint: 'Run `sieve ingest <path>` first.' },
  DB_TOO_NEW: { exit: 1, http: 500, hint: 'This database was written by a newer sieve; upgrade sieve or use another --home.' },
  DB_CORRUPT: { exit: 1, http: 500, hint: 'Run `sieve doctor` (it checks the database, and --repair rebuilds a damaged full-text index), or re-ingest into a fresh --home.' },
  DB_BUSY: { exit: 1, http: 503, hint: 'Another sieve process held the home\'s database for longer than its wait (a large ingest, a backup or a training job writing); retry when it has finished. Nothing stored was changed by this attempt.' },
  DISK_FULL: { exit: 1, http: 507, hint: 'Free disk space where the home is (`sieve doctor` shows how much is free); the write in progress was rolled back and nothing committed before it was lost.' },
  DB_READONLY: { exit: 1, http: 500, hint: 'The home\'s database cannot be written: check the permissions of the home folder and its sieve.db files, or use another --home.' },
  BACKUP_TARGET_INVALID: { exit: 2, http: 409, hint: 'Back up into a new or empty folder outside the home; sieve never writes over an existing backup.' },
  LLM_UNREACHABLE: { exit: 1, http: 502, hint: 'Start the LLM server or check SIEVE_LLM_BASE_URL; unset it to get extractive answers.' },
  LLM_TIMEOUT: { exit: 1, http: 504, hint: 'The LLM did not answer in time; raise SIEVE_LLM_TIMEOUT_MS or check the server.' },
  LLM_BAD_RESPONSE: { exit: 1, http: 502, hint: 'The server is not speaking the OpenAI chat completions protocol; check the base URL (it usually ends in /v1).' },
  DATASET_INVALID: { exit: 2, http: 400, hint: 'Point --data at a BEIR folder holding corpus.jsonl, queries.jsonl and qrels/<split>.tsv.' },
  FEEDBACK_INVALID: { exit: 2, http: 400, hint: 'Label only the sources the answer showed ([1] to [k]; `sieve traces` lists each ask), each either up or down, and call the answer helpful or not, not both.' },
  MODEL_INVALID: { exit: 1, http: 422, hint: 'The model file breaks a rule named above; re-export it.' },
  // The HTTP service (sieve serve).
  REQUEST_INVALID: { exit: 2, http: 400, hint: 'Fix the field named above; every request body is described at /openapi.json.' },
  BODY_TOO_LARGE: { exit: 2, http: 413, hint: 'Send a smaller body; ingest large files by path with POST /v1/ingest instead of inlining them.' },
  MEDIA_TYPE_UNSUPPORTED: { exit: 2, http: 415, hint: 'Send the body as JSON with Content-Type: application/json.' },
  UNAUTHORIZED: { exit: 2, http: 401, hint: 'Send "Authorization: Bearer <token>" with the token sieve serve was started with (--token or SIEVE_TOKEN).' },
  ROUTE_NOT_FOUND: { exit: 2, http: 404, hint: 'The routes are listed at /openapi.json.' },
  INGEST_NOT_ALLOWED: { exit: 2, http: 403, hint: 'Restart sieve serve with --root DIR (repeatable) to allow ingesting files under DIR over HTTP.' },
  PATH_OUTSIDE_ROOT: { exit: 2, http: 403, hint: 'Only paths inside the --root folders sieve serve was started with can be ingested; symlinks must resolve inside them too.' },
  MODEL_NOT_FOUND: { exit: 2, http: 404, hint: 'List the registered versions with GET /v1/models or `sieve models list`.' },
  TRACE_NOT_FOUND: { exit: 2, http: 404, hint: 'Use the traceId an ask returned; list recent ones with `sieve traces`.' },
  INTERNAL: { exit: 70, http: 500, hint: 'This is a bug in sieve; please report it with the command you ran.' },
} as const;

export type ErrorCode = keyof typeof CATALOGUE;

export class SieveError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SieveError';
    this.code = code;
    this.hint = CATALOGUE[code].hint;
    this.details = details;
  }

  get exitCode(): number {
    return CATALOGUE[this.code].exit;
  }

  get httpStatus(): number {
    return CATALOGUE[this.code].http;
  }
}

/** What to do about an error with this code (for problems reported per file, which carry no SieveError). */
export function hintFor(code: ErrorCode): string {
  return CATALOGUE[code].hint;
}

/** True for a code in the catalogue; used where a code crosses a thread or process boundary as a string. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(CATALOGUE, code);
}

export function isSieveError(err: unknown): err is SieveError {
  return err instanceof SieveError;
}

/**
 * What a storage failure means to the person who met it, by SQLite's result code (better-sqlite3 sets it on its
 * errors, extended codes included: SQLITE_BUSY_SNAPSHOT) or the system's errno: none of these is a bug in sieve.
 */
function storageErrorCode(err: unknown): ErrorCode | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'DB_BUSY';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'DISK_FULL';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') return 'DB_READONLY';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'DB_CORRUPT';
  return null;
}

/** Wraps anything thrown into a SieveError, keeping codes that are already ours. */
export function toSieveError(err: unknown): SieveError {
  if (err instanceof SieveError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SieveError(storageErrorCode(err) ?? 'INTERNAL', message, {}, { cause: err });
}
