import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkPaths } from '../src/ingest/walk.js';
import { SieveError } from '../src/errors.js';

let base: string;
let root: string;

function write(relative: string, content = 'content\n'): void {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function relativeFiles(files: Array<{ path: string }>, from = root): string[] {
  return files.map((f) => path.relative(from, f.path).split(path.sep).join('/'));
}

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'sieve-walk-'));
  root = path.join(base, 'project');
  write('.gitignore', '*.log\nsecret/\n!keep.log\n');
  write('README.md', '# Project\n');
  write('app.log');
  write('keep.log');
  write('node_modules/pkg/index.js');
  write('.git/config');
  write('.sieve/index.db');
  write('.sieve-demo/notes.md');
  write('dist/bundle.js');
  write('build/out.txt');
  write('__pycache__/mod.cpython-312.pyc');
  write('.venv/lib/site.py');
  write('package-lock.json', '{}');
  write('yarn.lock');
  write('Cargo.lock');
  write('logo.png');
  write('model.onnx');
  write('archive.tar.gz');
  write('fonts/inter.woff2');
  write('report.xlsx');
  write('paper.pdf'); // PDF and .docx have loaders: walked, not skipped as binary
  write('notes.docx');
  write('.env', 'TOKEN=secret\n');
  write('secret/plan.md');
  write('src/index.ts', 'export {};\n');
  write('src/.gitignore', 'generated/\n*.tmp.ts\n');
  write('src/generated/types.ts');
  write('src/util.tmp.ts');
  write('src/deep/.gitignore', '!*.tmp.ts\n');
  write('src/deep/kept.tmp.ts');
  write('src/deep/code.py');
  write('docs/big.txt', 'x'.repeat(5000));
  write('docs/guide.md', '# Guide\n');
  symlinkSync(path.join(root, 'README.md'), path.join(root, 'readme-link.md'));
  writeFileSync(path.join(base, 'shared-notes.md'), '# Shared\n');
  symlinkSync(path.join(base, 'shared-notes.md'), path.join(root, 'notes-link.md'));
  symlinkSync(path.join(root, 'src'), path.join(root, 'src-link'));
  symlinkSync(path.join(root, 'missing.md'), path.join(root, 'broken-link.md'));
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('walkPaths', () => {
  it('honours default excludes, nested .gitignore files and binary extensions, in sorted order', async () => {
    const { files } = await walkPaths([root], { maxFileBytes: 1000 });
    expect(relativeFiles(files)).toEqual([
      'README.md',
      'docs/guide.md',
      'keep.log',
      'notes-link.md',
      'notes.docx',
      'paper.pdf',
      'src/deep/code.py',
      'src/deep/kept.tmp.ts',
      'src/index.ts',
    ]);
    for (const file of files) {
      expect(path.isAbsolute(file.path)).toBe(true);
      expect(file.root).toBe(root);
      expect(file.size).toBeGreaterThan(0);
      expect(file.mtimeMs).toBeGreaterThan(0);
    }
  });

  it('reports files over the size limit and broken symlinks as problems, and follows symlinked files only, once', async () => {
    const { files, problems } = await walkPaths([root], { maxFileBytes: 1000 });
    expect(problems.map((p) => [path.relative(root, p.path), p.code])).toEqual([
      ['broken-link.md', 'FILE_UNREADABLE'],
      ['docs/big.txt', 'FILE_TOO_LARGE'],
    ]);
    expect(problems[1]?.message).toMatch(/4\.9 KB.*1000 bytes/);
    // A symlinked file is followed (its target lies outside the walked tree) ...
    const link = files.find((f) => f.path.endsWith('notes-link.md'));
    expect(link?.size).toBe('# Shared\n'.length);
    // ... unless the walk finds its target by its own path: README.md is not indexed a second time as readme-link.md.
    expect(files.some((f) => f.path.endsWith('readme-link.md'))).toBe(false);
    expect(files.some((f) => f.path === path.join(root, 'README.md'))).toBe(true);
    // The symlinked directory src-link is not walked, so nothing appears twice.
    expect(files.some((f) => f.path.includes('src-link'))).toBe(false);
  });

  it('applies extra exclude patterns relative to the given directory', async () => {
    const { files } = await walkPaths([root], { maxFileBytes: 1000, extraExcludes: ['docs/', '*.py'] });
    expect(relativeFiles(files)).toEqual(['README.md', 'keep.log', 'notes-link.md', 'notes.docx', 'paper.pdf', 'src/deep/kept.tmp.ts', 'src/index.ts']);
  });

  it('takes explicitly named files as they are, rooted at themselves, and de-duplicates', async () => {
    const vendored = path.join(root, 'node_modules/pkg/index.js');
    const { files } = await walkPaths([vendored, path.join(root, 'src'), path.join(root, 'src/index.ts')], { maxFileBytes: 1000 });
    expect(files.map((f) => [path.relative(root, f.path), path.relative(root, f.root)])).toEqual([
      ['node_modules/pkg/index.js', 'node_modules/pkg/index.js'],
      ['src/deep/code.py', 'src'],
      ['src/deep/kept.tmp.ts', 'src'],
      ['src/index.ts', 'src'],
    ]);
  });

  it('applies .gitignore files of the enclosing git work tree above the given directory', async () => {
    // root/src is inside no git repo: only src's own rules apply. Make root a work tree and walk src again.
    const repo = path.join(base, 'repo');
    mkdirSync(path.join(repo, '.git'), { recursive: true });
    mkdirSync(path.join(repo, 'pkg', 'lib'), { recursive: true });
    writeFileSync(path.join(repo, '.gitignore'), '*.secret.md\n');
    writeFileSync(path.join(repo, 'pkg', 'lib', 'a.md'), 'a\n');
    writeFileSync(path.join(repo, 'pkg', 'lib', 'b.secret.md'), 'b\n');
    const { files } = await walkPaths([path.join(repo, 'pkg')], { maxFileBytes: 1000 });
    expect(relativeFiles(files, repo)).toEqual(['pkg/lib/a.md']);
  });

  it('throws PATH_NOT_FOUND for a path that does not exist', async () => {
    const missing = path.join(base, 'nope');
    await expect(walkPaths([missing], { maxFileBytes: 1000 })).rejects.toBeInstanceOf(SieveError);
    await expect(walkPaths([missing], { maxFileBytes: 1000 })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });
});
