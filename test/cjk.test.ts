// Chinese, Japanese and Korean text: indexed and searched as character bigrams, alike by FTS5 (through the
// triggers' sieve_fts_text) and by the in-memory index, and re-indexed so in a home written before that.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/store/store.js';
import { attribute } from '../src/feedback/attribution.js';
import { cjkBigrams, cjkTerms } from '../src/util/cjk.js';
import { expectBothPathsFind, expectFtsIntact, ftsSources, rollBackFtsIndexing, writeAndIngest } from './helpers/fts.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('cjk');
const dbPath = join(tmp.dir, 'sieve.db');
let store: Store;

const DOCS: Record<string, string> = {
  'coffee.md': '# 咖啡\n\n咖啡因是一种中枢神经兴奋剂，可以提高注意力。\n',
  'tea.md': '# 茶\n\n绿茶含有儿茶素和少量咖啡因。\n',
  'ramen.md': '# ラーメン\n\nラーメンは中国から伝わった麺料理です。\n',
  'kimchi.md': '# 김치\n\n김치는 배추를 발효시켜 만든 한국 음식입니다.\n',
  'kettle.md': '# Kettle\n\nDescale the kettle with vinegar every month.\n',
};

beforeAll(async () => {
  store = new Store(dbPath);
  await writeAndIngest(store, tmp.dir, DOCS);
});
afterAll(() => {
  store.close();
  tmp.cleanup();
});

describe('cjkBigrams', () => {
  it('rewrites CJK runs as overlapping bigrams, keeps a lone character, and leaves other text alone', () => {
    expect(cjkBigrams('咖啡因是')).toBe(' 咖啡 啡因 因是 ');
    expect(cjkBigrams('茶')).toBe(' 茶 ');
    expect(cjkBigrams('caffeine 咖啡 and tea').replace(/\s+/g, ' ')).toBe('caffeine 咖啡 and tea');
    expect(cjkBigrams('ラーメン')).toBe(' ラー ーメ メン ');
    const plain = 'Plain English, unchanged.';
    expect(cjkBigrams(plain)).toBe(plain);
  });

  it('gives the same terms with their offsets, across mixed scripts and characters outside the BMP', () => {
    const word = 'DNA复制𠀋字';
    const terms = cjkTerms(word);
    expect(terms.map((t) => [t.text, t.cjk])).toEqual([['DNA', false], ['复制', true], ['制𠀋', true], ['𠀋字', true]]);
    for (const t of terms) expect(word.slice(t.start, t.end)).toBe(t.text);
    expect(cjkTerms('茶')).toEqual([{ text: '茶', start: 0, end: 1, cjk: true }]);
    expect(cjkTerms('plain')).toEqual([{ text: 'plain', start: 0, end: 5, cjk: false }]);
  });
});

describe('attribution of CJK answers without citation markers', () => {
  const shown = [
    { n: 1, chunkId: 11, text: '咖啡因是一种中枢神经系统兴奋剂，能够暂时驱走睡意并恢复精力。咖啡因存在于咖啡、茶和可可中。' },
    { n: 2, chunkId: 12, text: '长城是中国古代的军事防御工程，修筑历史可上溯到西周时期。明长城全长约八千八百公里。' },
    { n: 3, chunkId: 13, text: '富士山は日本最高峰の山であり、標高は三七七六メートルである。' },
  ];
  const used = (answer: string) => attribute(answer, shown).filter((a) => a.used).map((a) => a.n);

  it('credits the chunk a Chinese or Japanese sentence draws on, and only that one', () => {
    // Before CJK runs were split into bigrams, each clause was one token and none of these was credited.
    expect(used('明长城全长约八千八百公里，修筑历史可上溯到西周时期。')).toEqual([2]);
    expect(used('咖啡因能够暂时驱走睡意。')).toEqual([1]);
    expect(used('富士山の標高は三七七六メートルです。')).toEqual([3]);
    expect(used('咖啡因能够驱走睡意。长城全长约八千八百公里。')).toEqual([1, 2]);
  });

  it('credits nothing for an answer drawn from none of them, and points the evidence at the quoted characters', () => {
    expect(used('我不知道答案。')).toEqual([]);
    const [first] = attribute('咖啡因是一种中枢神经系统兴奋剂。', shown);
    expect(first!.used).toBe(true);
    const span = shown[0]!.text.slice(first!.evidence!.start, first!.evidence!.end);
    expect(span).toBe('咖啡因是一种中枢神经系统兴奋剂');
  });
});

describe('CJK search', () => {
  it('finds a word inside a CJK clause through FTS5 and through the in-memory index, with the same scores', () => {
    expectBothPathsFind(store, [
      ['咖啡因', 'coffee.md'],
      ['注意力', 'coffee.md'],
      ['儿茶素', 'tea.md'],
      ['麺料理', 'ramen.md'],
      ['발효', 'kimchi.md'],
    ]);
    expect(ftsSources(store, 'descale kettle')[0]).toBe('kettle.md');
  });

  it('re-indexes CJK chunks of a home written before bigrams (migration 011), and keeps them in step after', async () => {
    // Put the home back as version 10 left it: the old triggers, and FTS5 holding the raw text.
    rollBackFtsIndexing(store, (column) => column, 10);
    expect(ftsSources(store, '注意力')).toEqual([]); // inside a clause: invisible to the old index
    store.close();
    store = new Store(dbPath);
    expect(ftsSources(store, '注意力')).toEqual(['coffee.md']);
    expect(ftsSources(store, '咖啡因')).toEqual(['coffee.md', 'tea.md']);
    expect(ftsSources(store, 'descale kettle')[0]).toBe('kettle.md');
    // Deleting and rewriting a CJK document goes through the new triggers without corrupting the index.
    await writeAndIngest(store, tmp.dir, { 'coffee.md': '# 咖啡\n\n咖啡豆需要烘焙。\n' });
    expect(ftsSources(store, '烘焙')).toEqual(['coffee.md']);
    expect(ftsSources(store, '注意力')).toEqual([]);
    expectFtsIntact(store);
  });
});
