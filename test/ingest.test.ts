import { appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { SieveError } from '../src/errors.js';
import { Store } from '../src/store/store.js';
import { copyExamples, tempDir } from './helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
let engine: Engine;
let docs: string;

beforeEach(async () => {
  tmp = tempDir('ingest');
  docs = copyExamples(tmp.dir);
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null, embed: { enabled: false } });
});
afterEach(() => {
  engine.close();
  tmp.cleanup();
});

const chunkIdsOf = (e: Engine, uriSuffix: string) =>
  (e.store.db.prepare(`SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.uri LIKE ? ORDER BY c.id`).all(`%${uriSuffix}`) as Array<{ id: number }>).map((r) => r.id);

describe('ingest', () => {
  it('indexes every supported file in the examples and chunks them', async () => {
    const s = await engine.ingest([docs]);
    expect(s.files).toBe(5);
    expect(s.documents).toBe(5);
    expect(s.chunks).toBeGreaterThanOrEqual(5);
    expect(s.problems).toEqual([]);
    const stats = engine.stats();
    expect(stats.documents).toBe(5);
    expect(stats.chunks).toBe(s.chunks);
    // The HTML loader keeps visible text only.
    expect((await engine.search('console.log script indexed')).every((h) => !h.text.includes('console.log'))).toBe(true);
  });

  it('skips unchanged files and rewrites only a changed one, atomically', async () => {
    await engine.ingest([docs]);
    const before = chunkIdsOf(engine, 'faq.txt');
    const again = await engine.ingest([docs]);
    expect(again).toMatchObject({ documents: 0, chunks: 0, skipped: 5, removed: 0 });
    expect(chunkIdsOf(engine, 'faq.txt')).toEqual(before);

    appendFileSync(join(docs, 'faq.txt'), '\n\nCan sieve index PDF files?\n\nNot yet: PDF loaders are planned.\n');
    const changed = await engine.ingest([docs]);
    expect(changed).toMatchObject({ documents: 1, skipped: 4 });
    const after = chunkIdsOf(engine, 'faq.txt');
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((id) => before.includes(id))).toBe(false);
    expect((await engine.search('PDF loaders planned', { k: 1 }))[0]?.source).toContain('faq.txt');
  });

  it('re-chunks unchanged files when the chunking options change, and skips them again after', async () => {
    const first = await engine.ingest([docs]);
    engine.close();
    // A person lowers the chunk size in config.json: the same bytes must now give smaller chunks.
    engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null, embed: { enabled: false }, chunking: { maxTokens: 32, overlapTokens: 8 } });
    const rechunked = await engine.ingest([docs]);
    expect(rechunked.documents).toBe(5);
    expect(rechunked.chunks).toBeGreaterThan(first.chunks);
    expect(engine.stats().chunks).toBe(rechunked.chunks);
    const maxTokens = engine.store.db.prepare('SELECT max(token_count) AS m FROM chunks').get() as { m: number };
    expect(maxTokens.m).toBeLessThanOrEqual(32);
    expect(await engine.ingest([docs])).toMatchObject({ documents: 0, skipped: 5 });
  });

  it('re-reads files stored by an older loader but rewrites only the documents whose output changed, keeping the chunks of the rest', async () => {
    await engine.ingest([docs]);
    const before = chunkIdsOf(engine, 'faq.txt');
    const htmlBefore = chunkIdsOf(engine, '.html');
    // As an older sieve left the home: every file keyed by its bytes alone, and the HTML page stored with other
    // text (its loader has since changed what it yields for the same bytes).
    const older = engine.store.db.prepare('UPDATE sources SET content_hash = ?');
    older.run('sha256-of-the-bytes-alone');
    engine.store.db.prepare(`UPDATE documents SET content_hash = 'an older loader output' WHERE uri LIKE '%.html'`).run();
    const s = await engine.ingest([docs]);
    expect(s).toMatchObject({ documents: 1, skipped: 4, removed: 0 });
    expect(chunkIdsOf(engine, 'faq.txt')).toEqual(before); // unchanged output: not rewritten at all
    // The HTML document was rewritten; its chunks came out the same, so they kept their rows.
    const html = engine.store.db.prepare(`SELECT content_hash AS hash FROM documents WHERE uri LIKE '%.html'`).get() as { hash: string };
    expect(html.hash).not.toBe('an older loader output');
    expect(chunkIdsOf(engine, '.html')).toEqual(htmlBefore);
    expect(await engine.ingest([docs])).toMatchObject({ documents: 0, skipped: 5 }); // the new keys were stored
  });

  it('keeps the chunks an edit did not touch, with their history, and replaces the ones it did', async () => {
    const notes = join(tmp.dir, 'notes');
    mkdirSync(notes);
    const section = (name: string, body: string) => `## ${name}\n\n${body}\n`;
    const write = (deploy: string) =>
      writeFileSync(
        join(notes, 'runbook.md'),
        `# Runbook\n\n${section('Backups', 'Backups run nightly at three and are kept for thirty days.')}\n${section('Deploys', deploy)}\n${section('Alerts', 'Alerts page the on-call engineer through the pager service.')}`,
      );
    write('Deploys go out on Tuesdays after the review meeting.');
    await engine.ingest([notes]);
    const byHeading = () =>
      new Map((engine.store.db.prepare(`SELECT id, heading, ordinal FROM chunks ORDER BY ordinal`).all() as Array<{ id: number; heading: string; ordinal: number }>).map((r) => [r.heading.split(' › ').at(-1)!, r]));
    const before = byHeading();
    expect([...before.keys()]).toEqual(['Backups', 'Deploys', 'Alerts']);
    const backups = before.get('Backups')!.id;
    engine.store.db
      .prepare(`INSERT INTO history (query, query_key, chunk_id, doc_id, shown, cited, source, created_at) VALUES ('how long are backups kept', 'q1', ?, ?, 1, 1, 'explicit', '2026-12-04')`)
      .run(backups, engine.store.getChunks([backups]).get(backups)!.docId);

    // A second process with this chunk in its cache (a service running beside the ingest).
    const alerts = before.get('Alerts')!.id;
    const service = new Store(join(tmp.dir, 'home', 'sieve.db'));
    expect(service.getChunks([alerts]).get(alerts)?.ordinal).toBe(2);

    // An edit to one section, and a new section before the last: the untouched sections keep their rows.
    write('Deploys go out on Thursdays, never on Fridays.');
    const content = readFileSync(join(notes, 'runbook.md'), 'utf8').replace('## Alerts', '## Access\n\nAccess requests go through the security desk.\n\n## Alerts');
    writeFileSync(join(notes, 'runbook.md'), content);
    expect(await engine.ingest([notes])).toMatchObject({ documents: 1 });
    const after = byHeading();
    expect([...after.keys()]).toEqual(['Backups', 'Deploys', 'Access', 'Alerts']);
    expect(after.get('Backups')!.id).toBe(backups);
    expect(after.get('Alerts')!.id).toBe(before.get('Alerts')!.id);
    expect(after.get('Alerts')!.ordinal).toBe(3); // moved down by the new section
    expect(service.getChunks([alerts]).get(alerts)?.ordinal).toBe(3); // not the cached 2
    service.close();
    expect(after.get('Deploys')!.id).not.toBe(before.get('Deploys')!.id);
    // The history of the kept chunk still names it; the full-text index holds the new text and not the old.
    expect(engine.store.db.prepare(`SELECT chunk_id AS id FROM history WHERE query_key = 'q1'`).get()).toEqual({ id: backups });
    expect(engine.store.fullTextIndexCheck().problem).toBeNull();
    expect((await engine.search('Thursdays Fridays', { k: 1 }))[0]?.text).toContain('Thursdays');
    expect(engine.store.searchFts('tuesdays OR meeting', 5, { heading: 1, body: 1 })).toEqual([]);
    expect((await engine.search('nightly thirty days', { k: 1 }))[0]?.chunkId).toBe(backups);
  });

  it('keeps a moved file (or a renamed one whose title is not its name) as the same document, with its chunks and history; a copy is a new one', async () => {
    await engine.ingest([docs]);
    const before = chunkIdsOf(engine, 'faq.txt');
    const oldUri = join(docs, 'faq.txt');
    engine.store.db
      .prepare(`INSERT INTO history (query, query_key, chunk_id, doc_id, shown, cited, source, created_at) VALUES ('can sieve read pdf', 'q1', ?, ?, 1, 1, 'explicit', '2026-12-04')`)
      .run(before[0], oldUri);
    mkdirSync(join(docs, 'archive'));
    const newUri = join(docs, 'archive', 'faq.txt');
    renameSync(oldUri, newUri);
    // And a Markdown file renamed (its title is its first heading, not its name).
    const guideBefore = chunkIdsOf(engine, 'attribution.md');
    renameSync(join(docs, 'attribution.md'), join(docs, 'how-attribution-works.md'));
    const s = await engine.ingest([docs], { prune: true });
    expect(s).toMatchObject({ documents: 0, moved: 2, removed: 0 });
    expect(chunkIdsOf(engine, 'archive/faq.txt')).toEqual(before);
    expect(chunkIdsOf(engine, 'how-attribution-works.md')).toEqual(guideBefore);
    expect(chunkIdsOf(engine, '/attribution.md')).toEqual([]);
    expect(engine.store.listSources().map((src) => src.path)).not.toContain(oldUri);
    // History names the document by its new path, and the in-memory view sees it.
    expect(engine.store.db.prepare(`SELECT doc_id AS doc FROM history WHERE query_key = 'q1'`).get()).toEqual({ doc: newUri });
    expect((await engine.search('Can sieve read PDF files', { k: 1 }))[0]?.source).toBe(newUri);
    // A copy, its original still on disk, is a document of its own.
    mkdirSync(join(docs, 'other'));
    copyFileSync(newUri, join(docs, 'other', 'faq.txt'));
    expect(await engine.ingest([docs])).toMatchObject({ documents: 1, moved: 0 });
    expect(chunkIdsOf(engine, 'other/faq.txt').some((id) => before.includes(id))).toBe(false);
    expect(chunkIdsOf(engine, 'archive/faq.txt')).toEqual(before);
  });

  it('removes files gone from disk only with prune', async () => {
    await engine.ingest([docs]);
    rmSync(join(docs, 'learning-loop.md'));
    const kept = await engine.ingest([docs]);
    expect(kept.removed).toBe(0);
    expect(engine.stats().documents).toBe(5);
    const pruned = await engine.ingest([docs], { prune: true });
    expect(pruned.removed).toBe(1);
    expect(engine.stats().documents).toBe(4);
    expect((await engine.search('hot-swap rollback promoted', { k: 10 })).some((h) => h.source.endsWith('learning-loop.md'))).toBe(false);
  });

  it('indexes a UTF-16 file as Windows tools write it, and finds it by its words', async () => {
    const file = join(tmp.dir, 'powershell-output.txt');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Quarterly kiln maintenance: replace the thermocouple.\r\n', 'utf16le')]));
    const s = await engine.ingest([file]);
    expect(s.problems).toEqual([]);
    expect(s.documents).toBe(1);
    const hits = await engine.search('kiln thermocouple', { k: 3 });
    expect(hits[0]?.source).toBe(file);
    expect(hits[0]?.text).toContain('replace the thermocouple');
  });

  it('stores a file once however it is reached: through a symlinked folder it is the same source', async () => {
    const link = join(tmp.dir, 'docs-link');
    symlinkSync(docs, link);
    const first = await engine.ingest([link]);
    expect(first.documents).toBe(5);
    const again = await engine.ingest([docs]);
    expect(again).toMatchObject({ documents: 0, skipped: 5 });
    expect(engine.stats().documents).toBe(5);
    expect(engine.store.listSources().every((src) => src.path.startsWith(`${docs}/`))).toBe(true);
    // Scopes and forget name it either way.
    expect((await engine.search('attribution', { k: 3, scope: { sources: [link] } })).length).toBeGreaterThan(0);
    expect(await engine.forget([join(link, 'faq.txt')])).toMatchObject({ sources: 1, documents: 1 });
  });

  it('moves what an older version stored under a symlinked path to the real path, keeping its chunks', async () => {
    const link = join(tmp.dir, 'docs-link');
    symlinkSync(docs, link);
    await engine.ingest([docs]);
    const before = chunkIdsOf(engine, 'faq.txt');
    // As a version that stored paths as given left it: every source and document uri under the link.
    engine.store.db.prepare(`UPDATE sources SET path = ? || substr(path, length(?) + 1), root = ?`).run(link, docs, link);
    engine.store.db.prepare(`UPDATE documents SET uri = ? || substr(uri, length(?) + 1)`).run(link, docs);
    const s = await engine.ingest([link]);
    expect(s).toMatchObject({ documents: 0, skipped: 5 }); // nothing re-read into new documents
    expect(chunkIdsOf(engine, 'faq.txt')).toEqual(before);
    expect(engine.store.listSources().every((src) => src.path.startsWith(`${docs}/`))).toBe(true);
    expect(engine.stats().documents).toBe(5);
  });

  it('answers from the one row of a CSV table that holds the answer, its columns named', async () => {
    const file = join(tmp.dir, 'people.csv');
    writeFileSync(file, 'Name,Born,Field\nAda Lovelace,1815,Mathematics\n"Hopper, Grace",1906,Computer science\nAlan Turing,1912,Logic\n');
    await engine.ingest([file]);
    const r = await engine.ask('When was Grace Hopper born?', { scope: { sources: [file] } });
    expect(r.answer).toBe('Name: Hopper, Grace · Born: 1906 · Field: Computer science [1]');
  });

  it('keeps what was stored when a file turns unreadable, and reports it', async () => {
    await engine.ingest([docs]);
    const before = chunkIdsOf(engine, 'faq.txt');
    writeFileSync(join(docs, 'faq.txt'), Buffer.from([0x66, 0x61, 0x71, 0xff, 0xfe, 0x20, 0x61]));
    const s = await engine.ingest([docs], { prune: true });
    expect(s.problems.map((p) => p.code)).toContain('FILE_UNREADABLE');
    expect(chunkIdsOf(engine, 'faq.txt')).toEqual(before);
  });

  it('ingests the good lines of a BEIR corpus and reports the malformed ones by line', async () => {
    const corpus = join(tmp.dir, 'corpus.jsonl');
    writeFileSync(
      corpus,
      [
        JSON.stringify({ _id: 'd1', title: 'Aspirin', text: 'Aspirin reduces the risk of heart attack.' }),
        '{not json',
        JSON.stringify({ _id: 'd2', title: 'Statins', text: 'Statins lower cholesterol.' }),
        JSON.stringify({ title: 'no id', text: 'missing id' }),
      ].join('\n'),
    );
    const s = await engine.ingest([corpus]);
    expect(s.documents).toBe(2);
    expect(s.problems.filter((p) => p.code === 'JSONL_MALFORMED').map((p) => p.line)).toEqual([2, 4]);
    expect((await engine.searchDocuments('heart attack aspirin', 5))[0]?.docId).toBe('d1');

    // Fixing the file adds the missing document and leaves the unchanged ones alone.
    const ids = chunkIdsOf(engine, '#d1');
    writeFileSync(corpus, readFileSync(corpus, 'utf8').replace('{not json', JSON.stringify({ _id: 'd3', title: 'Beta blockers', text: 'Beta blockers slow the heart.' })).replace(/\n.*no id.*$/, ''));
    const fixed = await engine.ingest([corpus]);
    expect(fixed).toMatchObject({ documents: 1, skipped: 2 });
    expect(chunkIdsOf(engine, '#d1')).toEqual(ids);

    // Dropping a line from the corpus removes its document.
    writeFileSync(corpus, JSON.stringify({ _id: 'd1', title: 'Aspirin', text: 'Aspirin reduces the risk of heart attack.' }));
    const shrunk = await engine.ingest([corpus]);
    expect(shrunk.removed).toBe(2);
    expect(engine.stats().documents).toBe(1);
  });

  it('streams a BEIR corpus whatever its size, and refuses other files over the size limit', async () => {
    const big = join(tmp.dir, 'big');
    mkdirSync(big);
    const lines = Array.from({ length: 5000 }, (_, i) =>
      JSON.stringify({ _id: `doc-${i}`, title: `Topic ${i}`, text: `Document ${i} is about subject number ${i} and its kestrel${i} details.` }),
    );
    writeFileSync(join(big, 'corpus.jsonl'), `\uFEFF${lines.join('\n')}\n`); // with a byte-order mark, as some tools write
    writeFileSync(join(big, 'events.jsonl'), Array.from({ length: 300 }, (_, i) => JSON.stringify({ event: i, note: 'not a corpus line' })).join('\n'));
    writeFileSync(join(big, 'notes.txt'), 'kestrel '.repeat(2000));
    const limited = await openEngine({ home: join(tmp.dir, 'home-limited'), llm: null, ingest: { maxFileMb: 0.01 } });
    try {
      const progress: number[] = [];
      const s = await limited.ingest([big], { onProgress: (p) => p.corpusLines && progress.push(p.corpusLines) });
      expect(s.documents).toBe(5000);
      expect(progress).toEqual([5000]); // a streamed corpus reports the lines read, every 5,000
      expect(s.problems.map((p) => [p.path.slice(big.length + 1), p.code])).toEqual([
        ['notes.txt', 'FILE_TOO_LARGE'],
        ['events.jsonl', 'FILE_TOO_LARGE'],
      ]);
      expect((await limited.searchDocuments('kestrel217', 1))[0]?.docId).toBe('doc-217');
      expect((await limited.searchDocuments('topic 0 subject number 0', 1))[0]?.docId).toBe('doc-0');
      // Unchanged: one file skipped, nothing read past its hash.
      expect(await limited.ingest([big])).toMatchObject({ documents: 0, skipped: 1 });
    } finally {
      limited.close();
    }
  });

  it('refuses an unknown path with a clear error and stores nothing', async () => {
    await expect(engine.ingest([join(tmp.dir, 'nope')])).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    expect(engine.stats().documents).toBe(0);
  });
});

describe('store', () => {
  it('refuses a database written by a newer sieve', () => {
    const path = join(tmp.dir, 'newer.db');
    const s = new Store(path);
    s.db.pragma('user_version = 999');
    s.close();
    expect(() => new Store(path)).toThrowError(SieveError);
    try {
      new Store(path);
    } catch (e) {
      expect((e as SieveError).code).toBe('DB_TOO_NEW');
    }
  });

  it('applies every migration on a new database', () => {
    const s = new Store(join(tmp.dir, 'fresh.db'));
    const tables = (s.db.prepare(`SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['sources', 'documents', 'chunks', 'chunks_fts', 'traces']));
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    s.close();
  });
});
