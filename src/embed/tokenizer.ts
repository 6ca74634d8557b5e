// The embedder's tokenizer: vocabulary-free, deterministic and Unicode-aware (fastText-style hashed n-grams).
//
// text ─NFKC, lower-case─▶ words ─▶ per word a bag of ids: the hashed word "<word>" and its hashed character
// 3–5-grams (code points, with the '<' '>' word boundary marks) ─▶ at most `maxLength` word positions, padded
// to the smallest static length bucket that holds them.
//
// Representation (why the ONNX graph has no Gather): the runtime sums each word's bag in JS, once per distinct
// word (a word's vector never changes for a model, so it is cached), and feeds the graph the embedded sequence
// [1, E, 1, L] plus a mask. An in-graph Gather over ~20 ids per position would move ~20× the memory of the
// pre-summed input on every call and put the 16 MB table into every bucket's file; the lookup is a CPU job in
// the design anyway ("embedding-bag lookup runs on CPU").
//
// Words: runs of letters, marks and digits; each Han / Hiragana / Katakana character is a word of its own
// (those scripts do not separate words by spaces); each emoji (Extended_Pictographic) is a word. Everything
// else (punctuation, spaces, symbols, ZWJ, variation selectors) separates words and is dropped.
//
// Hash: 32-bit FNV-1a over the UTF-8 bytes, then murmur3's fmix32 finaliser (FNV-1a's low bits mix poorly and
// the bucket is taken from the low bits), bucket = hash mod `buckets`. Both are fixed here forever for
// `hash: 'fnv1a32-fmix32'`; a change needs a new hash name, since trained tables depend on it.
import { z } from 'zod';
import { SieveError } from '../errors.js';

export const tokenizerConfigSchema = z.object({
  kind: z.literal('hashed-ngrams'),
  hash: z.literal('fnv1a32-fmix32'),
  /** Hash buckets = embedding table rows. A power of two. */
  buckets: z
    .number()
    .int()
    .min(2)
    .max(2 ** 24)
    .refine((b) => (b & (b - 1)) === 0, 'buckets must be a power of two'),
  minN: z.number().int().min(1).max(8),
  maxN: z.number().int().min(1).max(8),
  /** Character n-grams kept per word (shorter n first); the word id itself is always kept. */
  maxNgramsPerWord: z.number().int().min(0).max(256),
  /** Longer words are cut to this many code points before n-grams are taken. */
  maxWordChars: z.number().int().min(1).max(1024),
  /** Static sequence lengths (word positions), ascending, each a multiple of 32 (the ANE's 64-byte rows). */
  lengthBuckets: z
    .array(z.number().int().min(32).max(4096))
    .min(1)
    .refine((a) => a.every((v, i) => v % 32 === 0 && (i === 0 || v > a[i - 1]!)), 'length buckets must be ascending multiples of 32'),
});

export type TokenizerConfig = z.infer<typeof tokenizerConfigSchema>;

export const DEFAULT_TOKENIZER_CONFIG: TokenizerConfig = {
  kind: 'hashed-ngrams',
  hash: 'fnv1a32-fmix32',
  buckets: 2 ** 17,
  minN: 3,
  maxN: 5,
  maxNgramsPerWord: 40,
  maxWordChars: 48,
  // Every multiple of 32 up to 256: SciFact chunks have a median of 137 words, so powers of two padded 60% of
  // them to 256; a graph per 32 costs ~0.3 MB (fp16) each and caps the padding at 31 positions.
  lengthBuckets: [32, 64, 96, 128, 160, 192, 224, 256],
};

/** Validates a config (e.g. read from a model's JSON); throws MODEL_INVALID naming the problem. */
export function parseTokenizerConfig(value: unknown): TokenizerConfig {
  const parsed = tokenizerConfigSchema.safeParse(value);
  if (!parsed.success) throw new SieveError('MODEL_INVALID', `invalid tokenizer config: ${z.prettifyError(parsed.error)}`);
  if (parsed.data.minN > parsed.data.maxN) throw new SieveError('MODEL_INVALID', `tokenizer minN ${parsed.data.minN} exceeds maxN ${parsed.data.maxN}`);
  return parsed.data;
}

// ---- hashing ----

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of the UTF-8 encoding of `s` (unsigned). Lone surrogates are encoded as U+FFFD, as TextEncoder does. */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  const byte = (b: number): void => {
    h = Math.imul(h ^ b, FNV_PRIME);
  };
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else cp = 0xfffd;
    } else if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) byte(cp);
    else if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
      byte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    }
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The table row of a token string. */
export function bucketOf(token: string, buckets: number): number {
  return fmix32(fnv1a32(token)) % buckets;
}

// ---- words ----

const NO_SPACE_SCRIPT = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]/u;
// One alternative per word kind; a letter run stops where a no-space script begins.
const WORD = /\p{Extended_Pictographic}|[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}]|(?:(?![\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}])[\p{L}\p{M}\p{N}])+/gu;

/** NFKC (so full-width and compatibility forms meet their plain forms) then locale-independent lower case. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** The words of a text, in order, after normalisation; at most `limit` of them. */
export function splitWords(text: string, limit = Infinity): string[] {
  const words: string[] = [];
  if (limit <= 0) return words;
  WORD.lastIndex = 0;
  const normalized = normalizeText(text);
  for (let m = WORD.exec(normalized); m !== null; m = WORD.exec(normalized)) {
    words.push(m[0]);
    if (words.length >= limit) break;
  }
  return words;
}

/** True for a word that is a single Han/Kana character (no n-grams beyond itself are useful). */
function isSingleNoSpaceChar(word: string): boolean {
  return NO_SPACE_SCRIPT.test(word) && [...word].length === 1;
}

/** UTF-8 bytes of one code point. */
function utf8Of(cp: number): number[] {
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

const LT = utf8Of(0x3c);
const GT = utf8Of(0x3e);

/**
 * A word's bag of table rows: the whole bracketed word "<word>" first, then its character n-grams (minN..maxN,
 * shorter first, left to right, over code points of "<word>"), capped at maxNgramsPerWord. The bracketed word
 * itself is not repeated as an n-gram. Repeated n-grams and hash collisions are kept: the bag is a multiset, as
 * in fastText. Equal to hashing each n-gram string with bucketOf (tested), without building the strings.
 */
export function wordBag(word: string, cfg: TokenizerConfig): Int32Array {
  const chars: number[][] = [LT];
  for (const ch of word) {
    if (chars.length > cfg.maxWordChars) break;
    chars.push(utf8Of(ch.codePointAt(0)!));
  }
  chars.push(GT);
  const hashRange = (start: number, end: number): number => {
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) for (const b of chars[i]!) h = Math.imul(h ^ b, FNV_PRIME);
    return fmix32(h >>> 0) % cfg.buckets;
  };
  const ids = [hashRange(0, chars.length)];
  if (!isSingleNoSpaceChar(word)) {
    let kept = 0;
    for (let n = cfg.minN; n <= cfg.maxN && kept < cfg.maxNgramsPerWord; n++) {
      if (n === chars.length) continue; // that n-gram is the bracketed word itself
      for (let start = 0; start + n <= chars.length && kept < cfg.maxNgramsPerWord; start++) {
        ids.push(hashRange(start, start + n));
        kept++;
      }
    }
  }
  return Int32Array.from(ids);
}

// ---- sequences ----

/** The smallest length bucket holding `length` positions (the largest when none does; callers truncate to it). */
export function chooseLengthBucket(length: number, lengthBuckets: readonly number[]): number {
  for (const b of lengthBuckets) if (length <= b) return b;
  return lengthBuckets[lengthBuckets.length - 1]!;
}

export interface TokenizedText {
  /** The words kept (at most the largest bucket), in order. */
  words: string[];
  /** The static sequence length this text is padded to. */
  bucket: number;
  /** True when words beyond the largest bucket were dropped. */
  truncated: boolean;
}

/** Splits a text into words, truncates to the largest bucket and picks its bucket. Positions ≥ words.length are padding. */
export function tokenize(text: string, cfg: TokenizerConfig): TokenizedText {
  const maxLength = cfg.lengthBuckets[cfg.lengthBuckets.length - 1]!;
  const words = splitWords(text, maxLength + 1);
  const truncated = words.length > maxLength;
  if (truncated) words.length = maxLength;
  return { words, bucket: chooseLengthBucket(words.length, cfg.lengthBuckets), truncated };
}

/** The mask of a tokenized text: 1 for each word position, 0 for padding, length `bucket`. */
export function sequenceMask(length: number, bucket: number): Float32Array {
  const mask = new Float32Array(bucket);
  mask.fill(1, 0, Math.min(length, bucket));
  return mask;
}

/**
 * The embedding bag: out[offset + c·stride] = mean over the bag's rows of table[id·dim + c], for c < dim.
 * (fastText averages a word's vectors; the mean keeps long and short words on one scale.) `stride` lets the caller
 * write one position of a channels-first [C, L] buffer (stride L) or a row of [L, C] (stride 1).
 */
export function meanBagInto(table: Float32Array, dim: number, bag: Int32Array, out: Float32Array, offset: number, stride: number): void {
  const scale = 1 / bag.length;
  for (let c = 0; c < dim; c++) {
    let sum = 0;
    for (let k = 0; k < bag.length; k++) sum += table[bag[k]! * dim + c]!;
    out[offset + c * stride] = sum * scale;
  }
}
