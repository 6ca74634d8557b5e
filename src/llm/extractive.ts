// The answer when no LLM is configured: the context's sentences that best cover the question, each cited.
import { splitSentences } from '../ingest/sentences.js';
import { answerSpans } from './code-units.js';
import { lightStem as stem } from '../rank/term-stats.js';
import type { AnswerOutput, AnswerRequest, Answerer, ContextItem } from '../types.js';
import { inlineCode } from '../util/backticks.js';
import { readableText } from '../util/readable.js';
import { searchText } from '../util/search-text.js';

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

// Function words carry no evidence that a sentence answers the question.
const STOPWORDS = new Set(
  ('a an and are as at be been being but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our so such than that the their them then there these they this those to was we were what ' +
    'when where which who whom whose why will with would you your about after before between during over under up ' +
    'out more most other some any each all both few only own same too very just also should').split(' '),
);


const NON_ASCII = /[^\x00-\x7f]/;
/** A numbered section title in plain text ("3. Grant of Patent License.", "4.2 Scope"): a name, not an answer. */
const SECTION_NUMBER = /^(?:§\s*)?\d+(?:\.\d+)*\.?\s+(.+)$/;
const MINOR_WORDS = new Set(['a', 'an', 'and', 'as', 'at', 'by', 'for', 'from', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);

export function isSectionTitle(sentence: string): boolean {
  const m = SECTION_NUMBER.exec(sentence);
  if (!m) return false;
  const words = m[1]!.replace(/[.:]$/, '').split(/\s+/).filter((w) => w !== '');
  if (words.length === 0 || words.length > 8) return false;
  // Title Case: every word but the small ones capitalised ("1. Install the package." is an instruction).
  return words.every((w, i) => /^\p{Lu}/u.test(w) || (i > 0 && MINOR_WORDS.has(w.toLowerCase())));
}

/** A bullet before a list item (a table row is one: "- name: Ada · born: 1815"): layout, not part of what is quoted. */
const LIST_BULLET = /^[-*+\u2022]\s+/;

/** Markdown heading lines at the start of a sentence span: a section's name, not a statement that answers. */
const LEADING_HEADINGS = /^(?:[ \t]{0,3}#{1,6}(?:[ \t][^\n]*)?(?:\n|$)\s*)+/;

/** Lower-cased words as retrieval reads them (identifiers with their parts, CJK runs as bigrams); NFKC first where it can change something. */
function wordsOf(text: string): string[] {
  return (searchText(NON_ASCII.test(text) ? text.normalize('NFKC') : text).toLowerCase().match(WORD) ?? []);
}

export function contentTerms(text: string): string[] {
  return contentTermsOf(wordsOf(text));
}

function contentTermsOf(ws: readonly string[]): string[] {
  return ws.filter((w) => !STOPWORDS.has(w)).map(stem);
}

interface Sentence {
  n: number;
  order: number;
  text: string;
  /** A whole line of code (quoted as code in `text`): a little less likely than the author's own words to be the answer. */
  code: boolean;
  terms: Set<string>;
  bigrams: Set<string>;
}

/** Adjacent word pairs, stopwords included: "shown but not used" matching the question is strong evidence. */
function wordBigrams(ws: readonly string[]): Set<string> {
  const stems = ws.map(stem);
  const out = new Set<string>();
  for (let i = 0; i + 1 < stems.length; i++) out.add(`${stems[i]} ${stems[i + 1]}`);
  return out;
}

/** A title or heading compared as a reader would: case, spacing and closing punctuation aside. */
function nameKey(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').replace(/[\s.:;,!]+$/, '').trim();
}

/** URLs and e-mail addresses: their words ("debian" in luk@debian.org) name a place, not what a sentence says. */
const ADDRESS = /\b(?:https?:\/\/|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;

function withoutAddresses(text: string): string {
  return text.includes('@') || text.includes('://') || text.includes('www.') ? text.replace(ADDRESS, ' ') : text;
}

/** A line of code's gain against a prose sentence's: the comment that explains a line beats the line on a tie. */
const CODE_LINE_WEIGHT = 0.8;

export interface ExtractiveOptions {
  maxSentences: number;
  maxWords: number;
}

export const EXTRACTIVE_DEFAULTS: Readonly<ExtractiveOptions> = Object.freeze({ maxSentences: 3, maxWords: 120 });

/**
 * Greedy coverage: repeatedly take the sentence that adds the most not-yet-covered question-term weight
 * (IDF over the context's sentences, so a rare term outweighs a common one), stop when nothing new is covered.
 * Sentences are then read back in context order, each followed by its [n].
 */
export function extractAnswer(question: string, context: readonly ContextItem[], opts: ExtractiveOptions): string {
  if (context.length === 0) return 'No indexed document matches this question.';
  const sentences: Sentence[] = [];
  for (const item of context) {
    // The document's title and its section names, where a passage repeats them as a line of text (a PDF's title
    // page, a running head): a name, not a statement.
    const names = new Set([item.title, ...item.headingPath].map(nameKey));
    for (const span of answerSpans(readableText(item.text), item.source)) {
      if (span.kind === 'code') {
        const ws = wordsOf(span.note === undefined ? span.text : `${span.text} ${span.note}`);
        const text = span.note === undefined ? inlineCode(span.text) : `${inlineCode(span.text)} — ${span.note}`;
        sentences.push({ n: item.n, order: sentences.length, text, code: true, terms: new Set(contentTermsOf(ws)), bigrams: wordBigrams(ws) });
        continue;
      }
      const spans = splitSentences(span.text);
      for (const s of spans) {
        let text = span.text.slice(s.start, s.end).replace(LEADING_HEADINGS, '').replace(/\s+/g, ' ').trim().replace(LIST_BULLET, '');
        // A question in the context (an FAQ heading, a rhetorical question) never answers anything; nor does the
        // numbered title of a section.
        if (text.length < 2 || text.endsWith('?') || isSectionTitle(text) || names.has(nameKey(text))) continue;
        // A comment's last sentence describes the line below it ("# seconds between retries" over "backoff: 2.5").
        if (span.describes !== undefined && s === spans[spans.length - 1]) text = `${text} — ${inlineCode(span.describes)}`;
        const ws = wordsOf(withoutAddresses(text));
        sentences.push({ n: item.n, order: sentences.length, text, code: false, terms: new Set(contentTermsOf(ws)), bigrams: wordBigrams(ws) });
      }
    }
  }
  const questionTerms = [...new Set(contentTerms(question))];
  const df = new Map<string, number>();
  for (const s of sentences) for (const t of questionTerms) if (s.terms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
  const weight = (t: string) => Math.log(1 + sentences.length / (df.get(t) ?? sentences.length));
  const questionBigrams = wordBigrams(wordsOf(question));
  const meanWeight = questionTerms.reduce((sum, t) => sum + weight(t), 0) / Math.max(1, questionTerms.length);

  const picked: Sentence[] = [];
  const covered = new Set<string>();
  let words = 0;
  let firstGain = 0;
  while (picked.length < opts.maxSentences) {
    let best: Sentence | undefined;
    let bestGain = 0;
    for (const s of sentences) {
      if (picked.includes(s)) continue;
      let gain = 0;
      for (const t of questionTerms) if (!covered.has(t) && s.terms.has(t)) gain += weight(t);
      if (gain > 0) for (const b of questionBigrams) if (s.bigrams.has(b)) gain += 0.5 * meanWeight;
      // Higher-ranked context is likelier to hold the answer: a mild prior by position.
      gain /= 1 + 0.1 * (s.n - 1);
      if (s.code) gain *= CODE_LINE_WEIGHT;
      // Earlier context items ranked higher; prefer them on ties.
      if (gain > bestGain + 1e-9) {
        best = s;
        bestGain = gain;
      }
    }
    // A later sentence must add real coverage, not one stray shared word.
    if (!best || (picked.length > 0 && bestGain < 0.4 * firstGain)) break;
    if (picked.length === 0) firstGain = bestGain;
    const w = best.text.split(' ').length;
    if (picked.length > 0 && words + w > opts.maxWords) break;
    picked.push(best);
    words += w;
    for (const t of questionTerms) if (best.terms.has(t)) covered.add(t);
  }
  if (picked.length === 0) {
    // Nothing shares a content word with the question (it matched on stems or stopwords only): offer the lead
    // of the best passage rather than nothing.
    const first = sentences.filter((s) => s.n === context[0]!.n);
    const lead = first.find((s) => !s.code) ?? first[0];
    if (!lead) return 'No indexed document matches this question.';
    picked.push(lead);
  }
  picked.sort((a, b) => a.order - b.order);
  return picked.map((s) => `${s.text} [${s.n}]`).join(' ');
}

export class ExtractiveAnswerer implements Answerer {
  readonly kind = 'extractive' as const;
  private readonly opts: ExtractiveOptions;

  constructor(opts: Partial<ExtractiveOptions> = {}) {
    this.opts = { ...EXTRACTIVE_DEFAULTS, ...opts };
  }

  async answer(req: AnswerRequest): Promise<AnswerOutput> {
    const text = extractAnswer(req.question, req.context, this.opts);
    req.onToken?.(text);
    return { text, reasoning: '', model: 'extractive' };
  }
}
