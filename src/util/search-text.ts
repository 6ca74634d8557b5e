// The one rewrite every tokenizer here applies before splitting text into search terms: identifiers split at
// case changes (identifiers.ts), then CJK runs as character bigrams (cjk.ts). The FTS5 triggers call it as the SQL
// function sieve_fts_text_v2 (migration 012), and the in-memory indexes, the term statistics and the query parser
// call it directly, so what is indexed and what is searched always agree.
import { cjkBigrams } from './cjk.js';
import { splitIdentifiers } from './identifiers.js';

export function searchText(text: string): string {
  return cjkBigrams(splitIdentifiers(text));
}
