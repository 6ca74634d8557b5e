// Identifiers in code as search terms. unicode61 (and every tokenizer here that mirrors it) splits at underscores
// and punctuation but not at case changes, so `chooseExecutionProviders` was one token and a search for "execution
// providers" never reached it. Each word with internal case changes is followed by its parts, the whole word kept
// ("getUserName" → "getUserName get User Name"), as Lucene's word-delimiter filter does with preserveOriginal.
// Applied alike to what is indexed and what is searched (src/util/search-text.ts).

/** Quick test for a lower-case letter or digit followed by a capital, or a capital run before a lower-case word. */
const CASE_CHANGE = /[\p{Ll}\p{N}]\p{Lu}|\p{Lu}\p{Lu}\p{Ll}{2}/u;
/** A whole word (letters, marks, digits) holding a case change. */
const IDENTIFIER = /(?<![\p{L}\p{M}\p{N}])[\p{L}\p{M}\p{N}]*?(?:[\p{Ll}\p{N}]\p{Lu}|\p{Lu}\p{Lu}\p{Ll}{2})[\p{L}\p{M}\p{N}]*/gu;
/**
 * Where a word splits: before a capital that follows a lower-case letter or digit ("get|User", "base64|Encode"),
 * and before the last capital of a run that starts a lower-case word of two letters or more ("HTML|String"; a
 * plural acronym such as "URLs" or "PDFs" stays whole).
 */
const BOUNDARY = /(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll}{2})/u;
/** Parts this long or longer count; a word splits only into two or more of them ("iPhone", "mRNA", "PhD" do not). */
const MIN_PART = 2;

// The same rules over ASCII only, without Unicode property classes: most text is ASCII, and this runs on every
// chunk an index is built from. ASCII_IDENTIFIER matches whole words (runs of letters and digits) with a case change.
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_CASE_CHANGE = /[a-z0-9][A-Z]|[A-Z][A-Z][a-z]{2}/;
const ASCII_IDENTIFIER = /(?<![A-Za-z0-9])[A-Za-z0-9]*?(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z]{2})[A-Za-z0-9]*/g;
const ASCII_BOUNDARY = /(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2})/;

/** A word's parts at its case changes, or null when it does not split into two or more real parts. */
export function identifierParts(word: string, boundary: RegExp = BOUNDARY): string[] | null {
  const parts = word.split(boundary);
  return parts.filter((p) => p.length >= MIN_PART).length < 2 ? null : parts;
}

function withParts(word: string, boundary: RegExp): string {
  const parts = identifierParts(word, boundary);
  return parts ? `${word} ${parts.join(' ')}` : word;
}

export function splitIdentifiers(text: string): string {
  if (ASCII.test(text)) {
    return ASCII_CASE_CHANGE.test(text) ? text.replace(ASCII_IDENTIFIER, (word) => withParts(word, ASCII_BOUNDARY)) : text;
  }
  if (!CASE_CHANGE.test(text)) return text;
  return text.replace(IDENTIFIER, (word) => withParts(word, BOUNDARY));
}
