// The one rewrite every tokenizer here applies before splitting text into search terms: identifiers split at
// case changes (identifiers.ts), then CJK runs as character bigrams (cjk.ts). The FTS5 triggers call it as the SQL
// function sieve_fts_text_v2 (migration 012), and the in-memory indexes, the term statistics and the query parser
// call it directly, so what is indexed and what is searched always agree.
import { cjkBigrams } from './cjk.js';
import { splitIdentifiers } from './identifiers.js';

const NON_ASCII = /[^\x00-\x7f]/;

export function searchText(text: string): string {
  const split = splitIdentifiers(text);
  // ASCII text holds no CJK: the (Unicode-property) CJK scan is skipped for nearly every chunk of an index build.
  return NON_ASCII.test(split) ? cjkBigrams(split) : split;
}
