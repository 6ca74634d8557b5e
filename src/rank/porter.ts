// The Porter (1980) stemmer, with the same rules and conditions as SQLite FTS5's `porter` tokenizer, so the
// in-memory BM25 index stems exactly as the FTS5 index it stands in for (a test compares the two on real text).
// Words shorter than 3 or longer than 64 characters pass through unchanged, as in FTS5.

const MAX_STEMMED = 64;

function isVowel(c: string, yIsVowel: boolean): boolean {
  return c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u' || (yIsVowel && c === 'y');
}

/**
 * Skips one vowel run then one consonant run starting at `from` (y is a vowel after a consonant); returns the
 * index just past that consonant, or 0 when the stem ends first. Counting these gives Porter's measure m.
 */
function gobbleVC(w: string, from: number, end: number, prevConsonant: boolean): number {
  let consonant = prevConsonant;
  let i = from;
  for (; i < end; i++) {
    consonant = !isVowel(w[i]!, consonant);
    if (!consonant) break;
  }
  for (i++; i < end; i++) {
    consonant = !isVowel(w[i]!, consonant);
    if (consonant) return i + 1;
  }
  return 0;
}

/** m > 0 for the stem w[0, end). */
function mGt0(w: string, end: number): boolean {
  return gobbleVC(w, 0, end, false) !== 0;
}

/** m > 1 for the stem w[0, end). */
function mGt1(w: string, end: number): boolean {
  const n = gobbleVC(w, 0, end, false);
  return n !== 0 && gobbleVC(w, n, end, true) !== 0;
}

/** m = 1 for the stem w[0, end). */
function mEq1(w: string, end: number): boolean {
  const n = gobbleVC(w, 0, end, false);
  return n !== 0 && gobbleVC(w, n, end, true) === 0;
}

/** *v*: the stem holds a vowel. */
function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (isVowel(w[i]!, i > 0)) return true;
  return false;
}

/** *o: the stem ends consonant-vowel-consonant, the last not w, x or y. */
function endsCvc(w: string, end: number): boolean {
  const last = w[end - 1];
  if (last === 'w' || last === 'x' || last === 'y') return false;
  let mask = 0;
  let consonant = false;
  for (let i = 0; i < end; i++) {
    consonant = !isVowel(w[i]!, consonant);
    mask = ((mask << 1) | (consonant ? 1 : 0)) & 0x7;
  }
  return mask === 0b101;
}

type Condition = (w: string, end: number) => boolean;
/** [suffix, replacement, condition on the stem before the suffix]; the first suffix that matches decides. */
type Rule = readonly [string, string, Condition];

function applyFirst(w: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (w.length > suffix.length && w.endsWith(suffix)) {
      const stemEnd = w.length - suffix.length;
      return condition(w, stemEnd) ? w.slice(0, stemEnd) + replacement : w;
    }
  }
  return w;
}

// Steps 2–4 look up the rule by the second-last letter in FTS5; the first matching suffix in this order is the same.
const STEP2: readonly Rule[] = [
  ['ational', 'ate', mGt0],
  ['tional', 'tion', mGt0],
  ['enci', 'ence', mGt0],
  ['anci', 'ance', mGt0],
  ['izer', 'ize', mGt0],
  ['logi', 'log', mGt0],
  ['bli', 'ble', mGt0],
  ['alli', 'al', mGt0],
  ['entli', 'ent', mGt0],
  ['eli', 'e', mGt0],
  ['ousli', 'ous', mGt0],
  ['ization', 'ize', mGt0],
  ['ation', 'ate', mGt0],
  ['ator', 'ate', mGt0],
  ['alism', 'al', mGt0],
  ['iveness', 'ive', mGt0],
  ['fulness', 'ful', mGt0],
  ['ousness', 'ous', mGt0],
  ['aliti', 'al', mGt0],
  ['iviti', 'ive', mGt0],
  ['biliti', 'ble', mGt0],
];

const STEP3: readonly Rule[] = [
  ['ical', 'ic', mGt0],
  ['ness', '', mGt0],
  ['icate', 'ic', mGt0],
  ['iciti', 'ic', mGt0],
  ['ful', '', mGt0],
  ['ative', '', mGt0],
  ['alize', 'al', mGt0],
];

const mGt1SorT: Condition = (w, end) => (w[end - 1] === 's' || w[end - 1] === 't') && mGt1(w, end);

const STEP4: readonly Rule[] = [
  ['al', '', mGt1],
  ['ance', '', mGt1],
  ['ence', '', mGt1],
  ['er', '', mGt1],
  ['ic', '', mGt1],
  ['able', '', mGt1],
  ['ible', '', mGt1],
  ['ant', '', mGt1],
  ['ement', '', mGt1],
  ['ment', '', mGt1],
  ['ent', '', mGt1],
  ['ion', '', mGt1SorT],
  ['ou', '', mGt1],
  ['ism', '', mGt1],
  ['ate', '', mGt1],
  ['iti', '', mGt1],
  ['ous', '', mGt1],
  ['ive', '', mGt1],
  ['ize', '', mGt1],
];

/**
 * Rules of one step grouped by second-last letter, as FTS5 dispatches them: only rules whose suffix shares the
 * word's second-last letter are tried, in the order above.
 */
function bySecondLast(rules: readonly Rule[]): Map<string, Rule[]> {
  const out = new Map<string, Rule[]>();
  for (const rule of rules) {
    const key = rule[0][rule[0].length - 2]!;
    const list = out.get(key);
    if (list) list.push(rule);
    else out.set(key, [rule]);
  }
  return out;
}

const STEP2_BY = bySecondLast(STEP2);
const STEP3_BY = bySecondLast(STEP3);
const STEP4_BY = bySecondLast(STEP4);

function step(w: string, table: Map<string, Rule[]>): string {
  const rules = table.get(w[w.length - 2]!);
  return rules ? applyFirst(w, rules) : w;
}

function step1a(w: string): string {
  if (!w.endsWith('s')) return w;
  if (w.endsWith('es')) {
    if ((w.length > 4 && w.endsWith('sses')) || (w.length > 3 && w.endsWith('ies'))) return w.slice(0, -2);
    return w.slice(0, -1);
  }
  return w.endsWith('ss') ? w : w.slice(0, -1);
}

/** Step 1b: -eed → -ee (m>0); -ed / -ing removed when the stem has a vowel, then tidied. */
function step1b(w: string): string {
  let stemmed: string;
  if (w.length > 3 && w.endsWith('eed')) return mGt0(w, w.length - 3) ? w.slice(0, -1) : w;
  if (w.length > 2 && w.endsWith('ed') && hasVowel(w, w.length - 2)) stemmed = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('ing') && hasVowel(w, w.length - 3)) stemmed = w.slice(0, -3);
  else return w;
  if (stemmed.length > 2) {
    const tail = stemmed.slice(-2);
    if (tail === 'at' || tail === 'bl' || tail === 'iz') return stemmed + 'e';
  }
  const last = stemmed[stemmed.length - 1]!;
  if (!isVowel(last, false) && last !== 'l' && last !== 's' && last !== 'z' && last === stemmed[stemmed.length - 2]) {
    return stemmed.slice(0, -1);
  }
  if (mEq1(stemmed, stemmed.length) && endsCvc(stemmed, stemmed.length)) return stemmed + 'e';
  return stemmed;
}

/** The Porter stem of one lower-case token. */
export function porterStem(word: string): string {
  if (word.length < 3 || word.length > MAX_STEMMED) return word;
  let w = step1b(step1a(word));
  if (w.endsWith('y') && hasVowel(w, w.length - 1)) w = w.slice(0, -1) + 'i';
  w = step(w, STEP2_BY);
  w = step(w, STEP3_BY);
  w = step(w, STEP4_BY);
  if (w.endsWith('e')) {
    const end = w.length - 1;
    if (mGt1(w, end) || (mEq1(w, end) && !endsCvc(w, end))) w = w.slice(0, -1);
  }
  if (w.length > 1 && w.endsWith('ll') && mGt1(w, w.length - 1)) w = w.slice(0, -1);
  return w;
}
