// Keeping the index in step with folders: the watcher settles once per burst of changes and ignores folders no
// ingest reads; `sieve watch` re-ingests after changes (new files indexed, deleted ones removed) until Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { watchPaths } from '../src/ingest/watch.js';
import { REPO_ROOT, tempDir } from './helpers/tmp.js';

const tmp = tempDir('watch');
afterAll(() => tmp.cleanup());

/** Polls until `check` holds (fs events arrive asynchronously), failing after `ms`. */
async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('watchPaths', () => {
  it('settles once per burst of changes, never on ignored folders, and not after close', async () => {
    const dir = join(tmp.dir, 'lib');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    mkdirSync(join(dir, 'home'), { recursive: true });
    const settles: string[][] = [];
    const watch = await watchPaths([dir], {
      debounceMs: 200,
      ignore: [join(dir, 'home')],
      onSettled: async (changed) => {
        settles.push(changed);
      },
    });
    try {
      writeFileSync(join(dir, 'a.md'), 'a');
      writeFileSync(join(dir, 'b.md'), 'b');
      writeFileSync(join(dir, 'a.md'), 'a again');
      await until(() => settles.length === 1);
      await watch.idle();
      expect(settles[0]).toEqual(expect.arrayContaining([join(dir, 'a.md'), join(dir, 'b.md')]));

      // Dependencies and the home (where the database writes) are not news.
      writeFileSync(join(dir, 'node_modules', 'x.js'), 'x');
      writeFileSync(join(dir, 'home', 'index.db'), 'x');
      await new Promise((r) => setTimeout(r, 600));
      expect(settles).toHaveLength(1);

      rmSync(join(dir, 'b.md'));
      await until(() => settles.length === 2);
      expect(settles[1]).toEqual([join(dir, 'b.md')]);
    } finally {
      watch.close();
    }
    writeFileSync(join(dir, 'c.md'), 'after close');
    await new Promise((r) => setTimeout(r, 600));
    expect(settles).toHaveLength(2);
  });

  it('refuses a path that does not exist', async () => {
    await expect(watchPaths([join(tmp.dir, 'nope')], { onSettled: async () => {} })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });
});

describe('sieve watch', () => {
  it('indexes new files and removes deleted ones as they happen, and stops cleanly on SIGINT', async () => {
    const docs = join(tmp.dir, 'docs');
    mkdirSync(docs, { recursive: true });
    writeFileSync(join(docs, 'kettle.md'), '# Kettle\n\nDescale the kettle with vinegar.\n');
    const home = join(tmp.dir, 'home');
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--home', home, 'watch', docs, '--json', '--debounce', '200'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SIEVE_LLM_BASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const summaries = () => stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { documents: number; removed: number });
    try {
      await until(() => stderr.includes('watching'));
      expect(summaries()).toEqual([expect.objectContaining({ documents: 1, removed: 0 })]);

      writeFileSync(join(docs, 'printer.md'), '# Printer\n\nThe printer jams when the paper is damp.\n');
      await until(() => summaries().length === 2);
      rmSync(join(docs, 'kettle.md'));
      await until(() => summaries().length === 3);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(summaries().map((s) => [s.documents, s.removed])).toEqual([
      [1, 0],
      [1, 0],
      [0, 1],
    ]);
  });
});
