// Identifiers in code: indexed and searched with their parts ("chooseExecutionProviders" also as "choose",
// "execution", "providers"), alike by FTS5 (through the triggers' sieve_fts_text_v2) and the in-memory index,
// and re-indexed so in a home written before that (migration 012).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../src/store/store.js';
import { splitIdentifiers } from '../src/util/identifiers.js';
import { expectBothPathsFind, expectFtsIntact, ftsSources, rollBackFtsIndexing, writeAndIngest } from './helpers/fts.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('identifiers');
const dbPath = join(tmp.dir, 'sieve.db');
let store: Store;

const FILES: Record<string, string> = {
  'runtime.ts': 'export function chooseExecutionProviders(platform: string): string[] {\n  return platform === "darwin" ? ["coreml", "cpu"] : ["cpu"];\n}\n',
  'http.ts': 'export class XMLHttpRequestPool {\n  parseHTMLString(body: string) { return body.trim(); }\n}\n',
  'notes.md': '# Notes\n\nThe kettle needs descaling with vinegar every month.\n',
};

beforeAll(async () => {
  store = new Store(dbPath);
  await writeAndIngest(store, tmp.dir, FILES);
});

afterAll(() => {
  store.close();
  tmp.cleanup();
});

describe('splitIdentifiers', () => {
  it('follows each word with internal case changes by its parts, keeping the word', () => {
    expect(splitIdentifiers('getUserName')).toBe('getUserName get User Name');
    expect(splitIdentifiers('call parseHTMLString now')).toBe('call parseHTMLString parse HTML String now');
    expect(splitIdentifiers('XMLHttpRequest')).toBe('XMLHttpRequest XML Http Request');
    expect(splitIdentifiers('base64Encode')).toBe('base64Encode base64 Encode');
    expect(splitIdentifiers('ÉtatCivil')).toBe('ÉtatCivil État Civil');
  });

  it('leaves prose alone: plural acronyms, one-letter prefixes and plain words', () => {
    for (const text of ['URLs and PDFs', 'iPhone mRNA PhD IgG', 'snake_case_name', 'Plain English, unchanged.']) expect(splitIdentifiers(text)).toBe(text);
  });
});

describe('identifier search', () => {
  it('finds code by the words inside its identifiers, through FTS5 and the in-memory index with the same scores', () => {
    expectBothPathsFind(store, [
      ['which execution providers are chosen', 'runtime.ts'],
      ['parse an HTML string', 'http.ts'],
      ['request pool', 'http.ts'],
      ['chooseExecutionProviders', 'runtime.ts'],
    ]);
    expect(ftsSources(store, 'descaling vinegar')).toEqual(['notes.md']);
  });

  it('re-indexes identifiers of a home written before (migration 012), and keeps the index in step after', async () => {
    // Put the home back as version 11 left it: triggers through sieve_fts_text, FTS5 holding that text.
    rollBackFtsIndexing(store, (column) => `sieve_fts_text(${column})`, 11);
    expect(ftsSources(store, 'execution providers')).toEqual([]); // inside an identifier: invisible to the old index
    store.close();
    store = new Store(dbPath);
    expect(ftsSources(store, 'execution providers')).toEqual(['runtime.ts']);
    // Rewriting a file goes through the new triggers without corrupting the index.
    await writeAndIngest(store, tmp.dir, { ...FILES, 'runtime.ts': 'export function pickNeuralEngine(): boolean {\n  return process.arch === "arm64";\n}\n' });
    expect(ftsSources(store, 'neural engine')).toEqual(['runtime.ts']);
    expect(ftsSources(store, 'execution providers')).toEqual([]);
    expectFtsIntact(store);
  });
});
