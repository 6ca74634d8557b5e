import { describe, expect, it } from 'vitest';
import { SieveError } from '../src/errors.js';
import {
  DEFAULT_TOKENIZER_CONFIG,
  bucketOf,
  chooseLengthBucket,
  fmix32,
  fnv1a32,
  meanBagInto,
  normalizeText,
  parseTokenizerConfig,
  sequenceMask,
  splitWords,
  tokenize,
  wordBag,
  type TokenizerConfig,
} from '../src/embed/tokenizer.js';

const cfg: TokenizerConfig = DEFAULT_TOKENIZER_CONFIG;

/** Reference FNV-1a over TextEncoder's UTF-8 bytes (an independent path from the tokenizer's own encoder). */
function fnvReference(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/** Reference bag built from n-gram strings. */
function bagReference(word: string, c: TokenizerConfig): number[] {
  const chars = ['<', ...[...word].slice(0, c.maxWordChars), '>'];
  const ids = [bucketOf(chars.join(''), c.buckets)];
  let kept = 0;
  for (let n = c.minN; n <= c.maxN; n++) {
    if (n === chars.length) continue;
    for (let s = 0; s + n <= chars.length; s++) {
      if (kept >= c.maxNgramsPerWord) return ids;
      ids.push(bucketOf(chars.slice(s, s + n).join(''), c.buckets));
      kept++;
    }
  }
  return ids;
}

describe('hashing', () => {
  it('computes the published 32-bit FNV-1a test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII text, lone surrogates as U+FFFD', () => {
    for (const s of ['é', 'café', '東京', '👍🏽', 'naïve façade', 'a\ud800b', '\udc00']) expect(fnv1a32(s)).toBe(fnvReference(s));
  });

  it("applies murmur3's fmix32 finaliser (fmix32(0) = 0, fmix32(1) = 0x514e28b7)", () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(fmix32(0x811c9dc5)).toBe(0xab3e7c0b);
    expect(bucketOf('', 1 << 17)).toBe(0xab3e7c0b % (1 << 17));
  });
});

describe('words', () => {
  it('normalises with NFKC and lower case, so compatibility and composed forms meet', () => {
    expect(normalizeText('ＡＢＣ ﬁle')).toBe('abc file');
    expect(splitWords('Cafe\u0301')).toEqual(splitWords('Café')); // NFD and NFC spellings are one word
    expect(splitWords('Café')).toEqual(['café']);
    expect(splitWords('café')).not.toEqual(splitWords('cafe')); // accents are kept
  });

  it('splits letter/digit runs, one word per Han/Kana character and per emoji, dropping punctuation', () => {
    expect(splitWords("Tides (and COVID-19) don't stop.")).toEqual(['tides', 'and', 'covid', '19', 'don', 't', 'stop']);
    expect(splitWords('東京タワーへ')).toEqual(['東', '京', 'タ', 'ワ', 'ー', 'へ']);
    expect(splitWords('abc東京')).toEqual(['abc', '東', '京']);
    expect(splitWords('한국어 텍스트')).toEqual(['한국어', '텍스트']); // Hangul separates words with spaces
    expect(splitWords('good 👍🏽 family 👨‍👩‍👧!')).toEqual(['good', '👍', 'family', '👨', '👩', '👧']);
    expect(splitWords('  ...  ')).toEqual([]);
  });

  it('stops at the limit', () => {
    expect(splitWords('a b c d e', 3)).toEqual(['a', 'b', 'c']);
    expect(splitWords('a b', 0)).toEqual([]);
  });
});

describe('wordBag', () => {
  it('holds the bracketed word, then its 3-, 4- and 5-grams (the whole word not repeated)', () => {
    const b = cfg.buckets;
    expect([...wordBag('the', cfg)]).toEqual(['<the>', '<th', 'the', 'he>', '<the', 'the>'].map((s) => bucketOf(s, b)));
    expect([...wordBag('a', cfg)]).toEqual([bucketOf('<a>', b)]);
  });

  it('matches hashing each n-gram string, for Unicode words and capped long words', () => {
    const small: TokenizerConfig = { ...cfg, maxNgramsPerWord: 7, maxWordChars: 6 };
    for (const w of ['protein', 'naïve', 'données', 'κβ', '한국어', 'x2', 'supercalifragilistic']) {
      expect([...wordBag(w, cfg)]).toEqual(bagReference(w, cfg));
      expect([...wordBag(w, small)]).toEqual(bagReference(w, small));
    }
    expect(wordBag('supercalifragilistic', small).length).toBe(8); // the word + 7 n-grams
  });

  it('gives a single Han character only its own id', () => {
    expect([...wordBag('東', cfg)]).toEqual([bucketOf('<東>', cfg.buckets)]);
  });

  it('is deterministic and stays inside the table', () => {
    const first = wordBag('mitochondria', cfg);
    expect([...wordBag('mitochondria', cfg)]).toEqual([...first]);
    for (const id of first) {
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(cfg.buckets);
    }
  });
});

describe('sequences', () => {
  it('picks the smallest bucket that holds the words, the largest beyond it', () => {
    const buckets = [32, 64, 128, 256];
    expect(chooseLengthBucket(0, buckets)).toBe(32);
    expect(chooseLengthBucket(32, buckets)).toBe(32);
    expect(chooseLengthBucket(33, buckets)).toBe(64);
    expect(chooseLengthBucket(129, buckets)).toBe(256);
    expect(chooseLengthBucket(1000, buckets)).toBe(256);
  });

  it('truncates to the largest bucket and says so', () => {
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const t = tokenize(long, cfg);
    expect(t.words.length).toBe(256);
    expect(t.bucket).toBe(256);
    expect(t.truncated).toBe(true);
    expect(t.words[255]).toBe('w255');
    const short = tokenize('How do tides work?', cfg);
    expect(short).toEqual({ words: ['how', 'do', 'tides', 'work'], bucket: 32, truncated: false });
    expect(tokenize('', cfg)).toEqual({ words: [], bucket: 32, truncated: false });
  });

  it('masks word positions with 1 and padding with 0', () => {
    expect([...sequenceMask(3, 32)].slice(0, 5)).toEqual([1, 1, 1, 0, 0]);
    expect(sequenceMask(3, 32).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('averages a bag of table rows into a strided output', () => {
    // table rows r = [r, 10r] for a 2-wide table.
    const table = Float32Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? i / 2 : (10 * (i - 1)) / 2));
    const out = new Float32Array(6).fill(-1);
    meanBagInto(table, 2, Int32Array.of(1, 3, 3), out, 1, 3); // channels at 1 and 4
    expect(out[1]).toBeCloseTo((1 + 3 + 3) / 3, 6);
    expect(out[4]).toBeCloseTo((10 + 30 + 30) / 3, 5);
    expect([out[0], out[2], out[3], out[5]]).toEqual([-1, -1, -1, -1]);
  });
});

describe('parseTokenizerConfig', () => {
  it('accepts the default and rejects tables that are not powers of two or buckets that break the ANE rows', () => {
    expect(parseTokenizerConfig(DEFAULT_TOKENIZER_CONFIG)).toEqual(DEFAULT_TOKENIZER_CONFIG);
    expect(() => parseTokenizerConfig({ ...cfg, buckets: 1000 })).toThrow(SieveError);
    expect(() => parseTokenizerConfig({ ...cfg, lengthBuckets: [32, 48] })).toThrow(/multiples of 32/);
    expect(() => parseTokenizerConfig({ ...cfg, lengthBuckets: [64, 32] })).toThrow(/ascending/);
    expect(() => parseTokenizerConfig({ ...cfg, minN: 5, maxN: 3 })).toThrow(/minN/);
    expect(() => parseTokenizerConfig({ ...cfg, hash: 'md5' })).toThrow(SieveError);
  });
});
