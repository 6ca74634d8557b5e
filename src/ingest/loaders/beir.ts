// BEIR corpus files: one JSON object a line, {_id, title?, text, metadata?}; each line is its own document.
// A bad line is reported with its line number and skipped; the other lines still load.
import { z } from 'zod';
import type { LoadedDocument } from '../../types.js';
import { readLines } from '../../util/lines.js';
import type { IngestProblem } from '../walk.js';
import { paragraphBlocks } from './text.js';

const BeirCorpusLine = z.object({
  // BEIR ids are strings, but some converted corpora write numbers; both identify the document.
  _id: z.union([z.string().min(1), z.number()]).transform((id) => String(id)),
  title: z.string().nullish(),
  text: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

/** Whether a line of a .jsonl file looks like a BEIR corpus object (so the file should load as a corpus). */
export function isBeirCorpusLine(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && '_id' in value && 'text' in value;
  } catch {
    return false;
  }
}

/**
 * Reads a BEIR corpus one line at a time (a whole file held in memory, or a stream of a large one): `read`
 * returns the line's document, or null for a blank or bad line, whose problem (with its line number) it keeps.
 */
export function beirLineReader(filePath: string): { read(line: string, lineNumber: number): LoadedDocument | null; problems: IngestProblem[] } {
  const problems: IngestProblem[] = [];
  const firstLineById = new Map<string, number>();
  const report = (line: number, message: string): null => {
    problems.push({ path: filePath, code: 'JSONL_MALFORMED', message: `${filePath}:${line}: ${message}`, line });
    return null;
  };
  const read = (line: string, lineNumber: number): LoadedDocument | null => {
    const raw = line.trim();
    if (raw === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      return report(lineNumber, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const parsed = BeirCorpusLine.safeParse(value);
    if (!parsed.success) return report(lineNumber, `not a BEIR corpus object: ${describeIssues(parsed.error, value)}`);
    const { _id: id, title, metadata } = parsed.data;
    const earlier = firstLineById.get(id);
    if (earlier !== undefined) return report(lineNumber, `duplicate _id "${id}" (first seen on line ${earlier}); this line was skipped`);
    // A document with only a title (some corpora have empty abstracts) is indexed by its title rather than lost.
    const text = parsed.data.text.trim() !== '' ? parsed.data.text : (title ?? '');
    if (text.trim() === '') return report(lineNumber, `_id "${id}" has no text and no title`);
    firstLineById.set(id, lineNumber);
    return {
      uri: `${filePath}#${id}`,
      externalId: id,
      title: title ?? '',
      text,
      kind: 'beir',
      language: null,
      metadata: metadata ?? {},
      blocks: paragraphBlocks(text, 0, text.length, []),
    };
  };
  return { read, problems };
}

/**
 * Every document of a BEIR corpus file, streamed a line at a time (corpora run to gigabytes). Bad lines are left
 * out, as ingest leaves them out, and their problems appended to `problems`.
 */
export async function* beirCorpusDocuments(filePath: string, problems: IngestProblem[] = []): AsyncGenerator<LoadedDocument> {
  const reader = beirLineReader(filePath);
  try {
    for await (const [lineNumber, line] of readLines(filePath)) {
      const document = reader.read(line, lineNumber);
      if (document !== null) yield document;
    }
  } finally {
    problems.push(...reader.problems);
  }
}

export function loadBeir(filePath: string, content: string): { documents: LoadedDocument[]; problems: IngestProblem[] } {
  const reader = beirLineReader(filePath);
  const documents: LoadedDocument[] = [];
  let lineStart = 0;
  for (let lineNumber = 1; lineStart <= content.length; lineNumber++) {
    let lineEnd = content.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = content.length;
    const document = reader.read(content.slice(lineStart, lineEnd), lineNumber);
    lineStart = lineEnd + 1;
    if (document !== null) documents.push(document);
  }
  return { documents, problems: reader.problems };
}

function describeIssues(error: z.ZodError, value: unknown): string {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject) return 'expected a JSON object';
  return error.issues
    .map((issue) => {
      const field = issue.path.map(String).join('.');
      const key = issue.path[0];
      return typeof key === 'string' && !(key in value) ? `missing "${field}"` : `"${field}": ${issue.message}`;
    })
    .join('; ');
}
