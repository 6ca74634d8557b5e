// Query-biased snippets of search results (src/rank/snippet.ts) and how the CLI shows them.
import { describe, expect, it } from 'vitest';
import { emphasize } from '../src/cli/main.js';
import { snippet } from '../src/rank/snippet.js';

const TEXT =
  'Tides are caused mainly by the gravitational pull of the Moon. The Sun also pulls on the oceans, about half as ' +
  'strongly as the Moon. Spring tides happen when the Sun and Moon line up;   neap tides when they are at right ' +
  'angles.\n\nCoastal engineers use tide tables to plan construction. The function chooseExecutionProviders picks providers.';
const marked = (s: ReturnType<typeof snippet>) => s.highlights.map(([a, b]) => s.text.slice(a, b));

describe('snippet', () => {
  it('shows the stretch holding the most query words, from the start of its sentence, with every match marked', () => {
    const s = snippet(TEXT, ['spring', 'line'], 16);
    expect(s.text).toBe('…Spring tides happen when the Sun and Moon line up; neap tides when they are at…');
    expect(marked(s)).toEqual(['Spring', 'line']);
  });

  it('matches words as the index does: stems, identifier parts, diacritics', () => {
    expect(marked(snippet(TEXT, ['tide', 'tables'], 12))).toEqual(expect.arrayContaining(['tide', 'tables']));
    expect(marked(snippet(TEXT, ['execution', 'providers'], 12))).toEqual(['chooseExecutionProviders', 'providers']);
    expect(marked(snippet('Le café est prêt.', ['cafe', 'pret']))).toEqual(['café', 'prêt']);
  });

  it('starts at the beginning when nothing matches, and collapses whitespace without shifting the marks', () => {
    const none = snippet(TEXT, ['zebra'], 8);
    expect(none.text).toBe('Tides are caused mainly by the gravitational pull…');
    expect(none.highlights).toEqual([]);
    const spaced = snippet('one   two\n\n three   tides', ['tides']);
    expect(spaced.text).toBe('one two three tides');
    expect(marked(spaced)).toEqual(['tides']);
  });

  it('marks CJK words inside a clause without repeating the characters their bigrams share', () => {
    const s = snippet('咖啡因是一种中枢神经系统兴奋剂，能够暂时驱走睡意。', ['咖啡', '啡因', '睡意']);
    expect(s.text).toBe('咖啡因是一种中枢神经系统兴奋剂，能够暂时驱走睡意。');
    expect(marked(s)).toEqual(['咖啡因', '睡意']);
  });
});

describe('emphasize', () => {
  it('bolds the marked words on a terminal and leaves piped output plain', () => {
    const s = snippet('The kettle needs descaling.', ['kettle']);
    expect(emphasize(s, true)).toBe('The \x1b[1mkettle\x1b[22m needs descaling.');
    expect(emphasize(s, false)).toBe('The kettle needs descaling.');
  });
});
