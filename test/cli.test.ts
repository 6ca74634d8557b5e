import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitQuietlyOnClosedPipe } from '../src/cli/main.js';
import { runSieve } from './helpers/cli.js';
import { EXAMPLES, REPO_ROOT, tempDir } from './helpers/tmp.js';

const tmp = tempDir('cli');
afterAll(() => tmp.cleanup());
const home = join(tmp.dir, 'home');

const sieve = (...args: string[]) => runSieve(home, ...args);

describe('sieve CLI', () => {
  it('ingest --json prints only the summary object on stdout', async () => {
    const r = await sieve('ingest', EXAMPLES, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { documents: number; chunks: number; problems: unknown[] };
    expect(summary.documents).toBe(5);
    expect(summary.problems).toEqual([]);
  });

  it('ingest without --json prints one summary line to stderr and nothing to stdout', async () => {
    const r = await sieve('ingest', EXAMPLES);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ingested 0 documents \(0 chunks\) from 5 files; 5 unchanged, 0 removed, 0 problems in [\d.]+ s/);
  });

  it('ingest skips a file over the size limit with what to do, and --max-file-mb raises the limit', async () => {
    const dir = join(tmp.dir, 'big');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'log.txt'), 'kestrel sighting '.repeat(2000)); // 34 KB
    const sizedHome = join(tmp.dir, 'home-sized');
    mkdirSync(sizedHome, { recursive: true });
    writeFileSync(join(sizedHome, 'config.json'), JSON.stringify({ ingest: { maxFileMb: 0.01 } }));
    const skipped = await runSieve(sizedHome, 'ingest', dir, '--json');
    const summary = JSON.parse(skipped.stdout) as { documents: number; problems: Array<{ code: string }> };
    expect(summary.documents).toBe(0);
    expect(summary.problems.map((p) => p.code)).toEqual(['FILE_TOO_LARGE']);
    expect(skipped.stderr).toMatch(/FILE_TOO_LARGE: .*log\.txt.*over the 10\.2 KB limit/);
    // The file is named once per line, not once by the CLI and again by the message.
    const problemLine = skipped.stderr.split('\n').find((l) => l.startsWith('FILE_TOO_LARGE:'))!;
    expect(problemLine.split('log.txt').length - 1).toBe(1);
    expect(skipped.stderr).toMatch(/hint \(FILE_TOO_LARGE\): .*--max-file-mb/);
    // The file was found, so the CLI does not say that none was; it fails all the same.
    expect(skipped.stderr).toMatch(/nothing was ingested: every file found was skipped \(1 listed above\)/);
    expect(skipped.stderr).not.toMatch(/no ingestible files found/);
    expect(skipped.code).toBe(1);
    const raised = await runSieve(sizedHome, 'ingest', dir, '--max-file-mb', '0.1', '--json');
    expect(JSON.parse(raised.stdout)).toMatchObject({ documents: 1, problems: [] });
    expect((await runSieve(sizedHome, 'ingest', dir, '--max-file-mb', '-1')).stderr).toMatch(/--max-file-mb must be a positive number/);
  });

  it('names files as they can be read on one line: a newline in a name escaped, a name not in UTF-8 reported with what to do', async () => {
    const dir = join(tmp.dir, 'names');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a\nb.md'), 'kestrel notes about falcons\n');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/latin1-`), Buffer.from([0xe9]), Buffer.from('.md')]), 'harrier notes\n');
    const namesHome = join(tmp.dir, 'home-names');
    const ingested = await runSieve(namesHome, 'ingest', dir);
    expect(ingested.stderr).toMatch(/FILE_UNREADABLE: Cannot read .*latin1-\uFFFD\.md: its name is not valid UTF-8; rename the file/);
    const sources = await runSieve(namesHome, 'sources');
    expect(sources.stdout.trim().split('\n')).toEqual([expect.stringMatching(/\/a\\nb\.md {2}1 documents, 1 chunks/)]);
    const search = await runSieve(namesHome, 'search', 'kestrel falcons');
    expect(search.stdout.split('\n')[0]).toMatch(/^1\. .*a\\nb\.md.*\(.*\/a\\nb\.md\)$/);
  });

  it('ask prints the answer, numbered sources and timings; --json parses', async () => {
    const text = await sieve('ask', 'What does a used chunk become for the relevance model?');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\[1\]/);
    expect(text.stdout).toMatch(/Sources:/);
    expect(text.stdout).toMatch(/answered by extractive · retrieve [\d.]+ ms/);
    const json = await sieve('ask', 'What does a used chunk become?', '--json', '--budget', '300');
    const result = JSON.parse(json.stdout) as { answer: string; context: Array<{ n: number; tokenCount: number }>; traceId: string };
    expect(result.context[0]?.n).toBe(1);
    expect(result.context.reduce((s, c) => s + c.tokenCount, 0)).toBeLessThanOrEqual(300);
    expect(result.traceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('search --json returns ranked hits', async () => {
    const r = await sieve('search', 'FTS5 field weights title', '-k', '3', '--json');
    const hits = JSON.parse(r.stdout) as Array<{ rank: number; source: string }>;
    expect(hits.map((h) => h.rank)).toEqual([1, 2, 3].slice(0, hits.length));
    expect(hits[0]?.source).toMatch(/retrieval\.html$/);
  });

  it('eval --json reports the documented keys on a BEIR folder', async () => {
    const r = await sieve('eval', '--data', join(REPO_ROOT, 'test/fixtures/beir-mini'), '--split', 'test', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['ndcg@10', 'recall@100', 'mrr@10', 'recall@1', 'queries', 'latency_ms']) expect(report).toHaveProperty(key);
    expect(report.queries).toBeGreaterThan(0);
  });

  it('feedback records labels for an ask and refuses contradictions or numbers the answer never showed', async () => {
    // A question that several passages answer in part, so the context has a [2] to mark down.
    const asked = JSON.parse((await sieve('ask', 'How are chunks labelled for the relevance model?', '--json')).stdout) as { traceId: string; context: unknown[] };
    expect(asked.context.length).toBeGreaterThan(1);
    const recorded = await sieve('feedback', asked.traceId, '--helpful', '--up', '1', '--down', '2', '--json');
    expect(recorded.code).toBe(0);
    expect(JSON.parse(recorded.stdout)).toEqual({ recorded: 3 });
    expect((await sieve('feedback', asked.traceId, '--up', '1,2')).stderr).toMatch(/recorded 2 labels/);
    const shownNot = await sieve('feedback', asked.traceId, '--up', String(asked.context.length + 1));
    expect(shownNot.code).toBe(2);
    expect(shownNot.stderr).toMatch(/FEEDBACK_INVALID.*there is no \[/);
    expect((await sieve('feedback', asked.traceId, '--up', '1', '--down', '1')).stderr).toMatch(/FEEDBACK_INVALID.*both --up and --down/);
    expect((await sieve('feedback', asked.traceId, '--helpful', '--not-helpful')).stderr).toMatch(/FEEDBACK_INVALID/);
    expect((await sieve('feedback', asked.traceId)).stderr).toMatch(/nothing to record/);
    expect((await sieve('feedback', asked.traceId, '--up', 'first')).stderr).toMatch(/--up takes the numbers/);
    expect((await sieve('feedback', 'no-such-trace', '--helpful')).stderr).toMatch(/TRACE_NOT_FOUND/);
  });

  it('forget takes a file out of the index, keeps it on disk, and removes nothing when a path was never ingested', async () => {
    const dir = join(tmp.dir, 'forget');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'otters.md'), '# Otters\n\nSea otters crack shellfish open with stones.\n');
    writeFileSync(join(dir, 'herons.md'), '# Herons\n\nGrey herons stand still in shallow water.\n');
    const forgetHome = join(tmp.dir, 'forget-home');
    const run = (...args: string[]) => runSieve(forgetHome, ...args);
    expect((await run('ingest', dir)).code).toBe(0);
    const typo = await run('forget', join(dir, 'otters.md'), join(dir, 'otter.md'));
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/PATH_NOT_FOUND.*otter\.md.*sieve sources/);
    expect(JSON.parse((await run('search', 'shellfish stones', '--json')).stdout)).toHaveLength(1);
    const forgot = await run('forget', join(dir, 'otters.md'), '--json');
    expect(JSON.parse(forgot.stdout)).toEqual({ sources: 1, documents: 1, chunks: 1 });
    expect(JSON.parse((await run('search', 'shellfish stones', '--json')).stdout)).toEqual([]);
    expect(JSON.parse((await run('search', 'herons shallow water', '--json')).stdout)).toHaveLength(1);
    expect(existsSync(join(dir, 'otters.md'))).toBe(true);
    // An unchanged file forgotten is new again to the next ingest.
    expect(JSON.parse((await run('ingest', dir, '--json')).stdout)).toMatchObject({ documents: 1, skipped: 1 });
    expect(JSON.parse((await run('search', 'shellfish stones', '--json')).stdout)).toHaveLength(1);
  });

  it('fails clearly: unknown path, empty question, missing data set, bad option', async () => {
    const missing = await sieve('ingest', join(tmp.dir, 'does-not-exist'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/PATH_NOT_FOUND/);
    expect(missing.stderr).toMatch(/hint:/);
    const empty = await sieve('ask', '?!');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/QUESTION_EMPTY/);
    const data = await sieve('eval', '--data', tmp.dir);
    expect(data.code).toBe(2);
    expect(data.stderr).toMatch(/DATASET_INVALID/);
    const budget = await sieve('ask', 'x', '--budget', 'lots');
    expect(budget.code).not.toBe(0);
    expect(budget.stderr).toMatch(/--budget must be a positive whole number/);
    const model = await sieve('models', 'activate', 'no-such-version');
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/MODEL_NOT_FOUND/);
    expect(model.stderr).toMatch(/sieve models list/); // the hint says where the versions are
  });
});

describe('the CLI on a closed pipe', () => {
  it('exits 0 quietly when the reader closes stdout (sieve traces | head), and still raises any other write error', () => {
    const stream = new EventEmitter() as unknown as NodeJS.WriteStream;
    const exits: number[] = [];
    exitQuietlyOnClosedPipe(stream, (code) => exits.push(code));
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(exits).toEqual([0]);
    expect(() => stream.emit('error', Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }))).toThrow(/no space left/);
    expect(exits).toEqual([0]);
  });
});
