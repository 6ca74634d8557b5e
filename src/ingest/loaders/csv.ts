// Tables exported as CSV or TSV. Read as plain text, a table was one block of comma-joined cells: chunks cut rows
// in half, and a value arrived without the column that says what it is. Each row becomes one list item that names
// its columns ("- Name: Ada Lovelace · Born: 1815"), one block per row, so chunks hold whole rows, a question that
// names a column ("when was Ada born") matches both the column and the value, and the sentence splitter (hence
// the extractive answer and attribution) takes each row as a unit.
import path from 'node:path';
import type { Block, LoadedDocument } from '../../types.js';

/** Between a row's fields in the document text, and before each row (a list item: one sentence per row). */
const FIELD_SEPARATOR = ' · ';
const ROW_MARKER = '- ';

/**
 * RFC 4180 fields: quoted fields may hold the delimiter, newlines and doubled quotes; CRLF or LF ends a record.
 * A stray quote inside an unquoted field is kept as text.
 */
export function parseDelimited(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    if (!(row.length === 1 && row[0] === '')) rows.push(row); // blank lines are not rows
    row = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) endField();
    else if (c === '\n') endRow();
    else if (c === '\r' && text[i + 1] === '\n') {
      endRow();
      i++;
    } else field += c;
    i++;
  }
  if (field !== '' || row.length > 0) endRow();
  return rows;
}

/** The delimiter of a .csv file: comma, unless its first line has more semicolons (European spreadsheets). */
function delimiterOf(filePath: string, text: string): string {
  if (path.extname(filePath).toLowerCase() === '.tsv') return '\t';
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  const count = (ch: string) => firstLine.split(ch).length - 1;
  return count(';') > count(',') ? ';' : count('\t') > count(',') ? '\t' : ',';
}

/**
 * A table as a document: one line per data row naming its columns, or null when the file is not a table (fewer
 * than two columns, or rows of wildly different widths), for the plain-text loader to take.
 */
export function loadCsv(filePath: string, text: string): LoadedDocument | null {
  const rows = parseDelimited(text, delimiterOf(filePath, text));
  const header = rows[0];
  if (!header || header.length < 2 || rows.length < 2) return null;
  const columns = header.map((h, i) => h.trim() || `column ${i + 1}`);
  const consistent = rows.filter((r) => r.length === header.length).length;
  if (consistent < 0.8 * rows.length) return null;

  let out = '';
  const blocks: Block[] = [];
  for (const row of rows.slice(1)) {
    const line = row
      .map((value, i) => [columns[i] ?? `column ${i + 1}`, value.replace(/\s+/g, ' ').trim()] as const)
      .filter(([, value]) => value !== '')
      .map(([column, value]) => `${column}: ${value}`)
      .join(FIELD_SEPARATOR);
    if (line === '') continue;
    const item = `${ROW_MARKER}${line}`;
    if (out !== '') out += '\n';
    blocks.push({ start: out.length, end: out.length + item.length, headingPath: [], type: 'table' });
    out += item;
  }
  if (blocks.length === 0) return null;
  return {
    uri: filePath,
    externalId: null,
    title: path.basename(filePath),
    text: out,
    kind: 'table',
    language: null,
    metadata: { columns, rows: blocks.length },
    blocks,
  };
}
