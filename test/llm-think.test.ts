import { describe, expect, it } from 'vitest';
import { createThinkSplitter, stripThinking, type ThinkSplitterOptions } from '../src/llm/think.js';

/** Feeds chunks through a fresh splitter; returns the joined answer/reasoning and every answer piece. */
function run(chunks: string[], opts?: ThinkSplitterOptions): { answer: string; reasoning: string; pieces: string[] } {
  const splitter = createThinkSplitter(opts);
  const pieces: string[] = [];
  let reasoning = '';
  for (const chunk of chunks) {
    const out = splitter.push(chunk);
    if (out.answer) pieces.push(out.answer);
    reasoning += out.reasoning;
  }
  const last = splitter.end();
  if (last.answer) pieces.push(last.answer);
  reasoning += last.reasoning;
  return { answer: pieces.join(''), reasoning, pieces };
}

describe('createThinkSplitter', () => {
  it('separates a whole think block from the answer and trims the whitespace after it', () => {
    const r = run(['<think>plan the answer</think>\n\nParis is the capital [1].']);
    expect(r.answer).toBe('Paris is the capital [1].');
    expect(r.reasoning).toBe('plan the answer');
  });

  it('accepts <thinking> and any letter case', () => {
    expect(run(['<THINKING>hmm</Thinking> ok']).answer).toBe('ok');
    expect(run(['<Think>a</THINK>b']).reasoning).toBe('a');
  });

  it('handles every split position of <think> and </think> across two chunks', () => {
    const full = '<think>reason here</think>\nThe answer [2].';
    for (const tag of ['<think>', '</think>']) {
      const tagAt = full.indexOf(tag);
      for (let cut = 1; cut < tag.length; cut++) {
        const at = tagAt + cut;
        const r = run([full.slice(0, at), full.slice(at)]);
        expect(r.answer, `${tag} cut at ${cut}`).toBe('The answer [2].');
        expect(r.reasoning, `${tag} cut at ${cut}`).toBe('reason here');
      }
    }
  });

  it('handles every split position of </thinking> and of a closing-tag-only stream', () => {
    const full = 'bare thought</thinking>Answer.';
    const tagAt = full.indexOf('</thinking>');
    for (let cut = 1; cut < '</thinking>'.length; cut++) {
      const r = run([full.slice(0, tagAt + cut), full.slice(tagAt + cut)]);
      expect(r.answer).toBe('Answer.');
      expect(r.reasoning).toBe('bare thought');
    }
  });

  it('survives one character per chunk', () => {
    const r = run([...'  <think>x < y</think>\n\n  A <b>bold</b> claim.  ']);
    expect(r.answer).toBe('A <b>bold</b> claim.');
    expect(r.reasoning).toBe('x < y');
  });

  it('treats everything before a lone closing tag as reasoning', () => {
    const r = run(['Okay, the user asks', ' about X.\n', '</think>', '\n\nX is Y [1].']);
    expect(r.reasoning).toBe('Okay, the user asks about X.\n');
    expect(r.answer).toBe('X is Y [1].');
  });

  it('with startsInside, streams reasoning without waiting and the answer after the close', () => {
    const splitter = createThinkSplitter({ startsInside: true });
    expect(splitter.push('thinking')).toEqual({ answer: '', reasoning: 'thinking' });
    expect(splitter.push(' more</think>Done')).toEqual({ answer: 'Done', reasoning: ' more' });
    expect(splitter.end()).toEqual({ answer: '', reasoning: '' });
  });

  it('with no tags, the whole text is the answer, released at the end of the stream', () => {
    const splitter = createThinkSplitter();
    expect(splitter.push('Plain answer ')).toEqual({ answer: '', reasoning: '' });
    expect(splitter.push('[1].')).toEqual({ answer: '', reasoning: '' });
    expect(splitter.end()).toEqual({ answer: 'Plain answer [1].', reasoning: '' });
    expect(splitter.sawTag).toBe(false);
  });

  it('releases untagged text as answer once it exceeds maxHoldChars, then streams', () => {
    const splitter = createThinkSplitter({ maxHoldChars: 10 });
    expect(splitter.push('12345').answer).toBe('');
    expect(splitter.push('678901').answer).toBe('12345678901');
    expect(splitter.push(' more').answer).toBe(' more');
    expect(splitter.end().answer).toBe('');
  });

  it('with maxHoldChars 0, streams untagged text at once but still holds a partial tag', () => {
    const splitter = createThinkSplitter({ maxHoldChars: 0 });
    expect(splitter.push('Hello').answer).toBe('Hello');
    expect(splitter.push(' world <thi').answer).toBe(' world');
    expect(splitter.push('nk>secret</think> again')).toEqual({ answer: ' again', reasoning: 'secret' });
  });

  it('releaseHeld returns held text as answer and stops suspecting it', () => {
    const splitter = createThinkSplitter();
    expect(splitter.push('Visible').answer).toBe('');
    expect(splitter.releaseHeld().answer).toBe('Visible');
    expect(splitter.push(' text').answer).toBe(' text');
  });

  it('releases held leading text as answer when an opening tag follows it', () => {
    const r = run(['Intro. ', '<think>later thought</think>Rest.']);
    expect(r.answer).toBe('Intro. Rest.');
    expect(r.reasoning).toBe('later thought');
  });

  it('reports an implicit thought only for a lone closing tag', () => {
    const lone = createThinkSplitter();
    lone.push('a</think>b');
    expect(lone.sawImplicitThought).toBe(true);
    const paired = createThinkSplitter();
    paired.push('<think>a</think>b');
    expect(paired.sawImplicitThought).toBe(false);
    expect(paired.sawTag).toBe(true);
  });

  it('never emits trailing whitespace, and the pieces join to the trimmed answer', () => {
    const r = run(['<think>t</think>', '\n', 'One', ' ', 'two', '\n\n'], { maxHoldChars: 0 });
    expect(r.answer).toBe('One two');
    expect(r.pieces.every((p) => p.length > 0)).toBe(true);
  });

  it('keeps an unclosed thought as reasoning (e.g. cut by max_tokens)', () => {
    const r = run(['<think>never fin', 'ished <thi']);
    expect(r.answer).toBe('');
    expect(r.reasoning).toBe('never finished <thi');
  });

  it('flushes a trailing partial tag that never completed as answer text', () => {
    const r = run(['a < b and c <thi'], { maxHoldChars: 0 });
    expect(r.answer).toBe('a < b and c <thi');
  });
});

describe('stripThinking', () => {
  it('splits whole strings in each shape', () => {
    expect(stripThinking('<think>\nwhy\n</think>\n\nBecause [1].')).toEqual({ answer: 'Because [1].', reasoning: 'why' });
    expect(stripThinking('only thought</think>Answer')).toEqual({ answer: 'Answer', reasoning: 'only thought' });
    expect(stripThinking('  No tags at all.  ')).toEqual({ answer: 'No tags at all.', reasoning: '' });
    expect(stripThinking('x'.repeat(20000))).toEqual({ answer: 'x'.repeat(20000), reasoning: '' });
  });
});
