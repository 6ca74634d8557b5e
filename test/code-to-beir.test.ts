// The code-search set built from doc comments and the code they document (bench/code-to-beir.ts).
import { describe, expect, it } from 'vitest';
import { buildCodeSearchSet, codeSearchPairs, docSentence, stripComments } from '../bench/code-to-beir.js';

describe('code-to-beir', () => {
  it('names a source folder it cannot read instead of failing as a bug', async () => {
    await expect(buildCodeSearchSet(['/nonexistent/sieve-sources'])).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  it("takes a doc comment's first prose sentence, without tags or markup, and skips comments too short to be a query", () => {
    expect(docSentence('*\n * Pick the execution providers for this platform. CoreML first.\n * @param platform the OS\n ')).toBe('Pick the execution providers for this platform.');
    expect(docSentence('* Returns the {@link Store} of `this` engine, opened lazily ')).toBe('Returns the Store of this engine, opened lazily');
    expect(docSentence('*\n * Constructor.\n ')).toBeNull();
    expect(docSentence('* @private ')).toBeNull();
  });

  it('strips block and line comments from the code, keeping URLs', () => {
    expect(stripComments('a(); // call a\n/* gone */ b("http://x.y");').replace(/\s+/g, ' ').trim()).toBe('a(); b("http://x.y");');
  });

  it('pairs each documented unit with its own code, up to the next doc comment', () => {
    const source = [
      '/** Choose the execution providers for a platform. */',
      'export function chooseExecutionProviders(platform) {',
      '  // CoreML on Apple silicon',
      '  return platform === "darwin" ? ["coreml", "cpu"] : ["cpu"];',
      '}',
      '/** Too short. */',
      'const x = 1;',
      '/** Count the chunks stored for one document id. */',
      'function countChunks(store, docId) { return store.count(docId); }',
    ].join('\n');
    const pairs = codeSearchPairs('src/runtime.js', source);
    expect(pairs.map((p) => [p.id, p.query])).toEqual([
      ['src/runtime.js:1', 'Choose the execution providers for a platform.'],
      ['src/runtime.js:8', 'Count the chunks stored for one document id.'],
    ]);
    expect(pairs[0]!.code).toBe('export function chooseExecutionProviders(platform) { return platform === "darwin" ? ["coreml", "cpu"] : ["cpu"]; }');
  });
});
