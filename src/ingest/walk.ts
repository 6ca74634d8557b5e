// Finds the files an ingest should read: directories are walked honouring .gitignore files and a default exclude
// list; files named explicitly are always taken (only the size limit applies to them).
import { promises as fs, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { SieveError, type ErrorCode } from '../errors.js';

/** A file found by the walk. */
export interface WalkedFile {
  /** Absolute path (through any symlinked file, not resolved). */
  path: string;
  /** The given directory it was found under, or the file itself when a file was given. */
  root: string;
  size: number;
  mtimeMs: number;
  /** The real path of a file reached through a symlink. */
  linkTarget?: string;
}

/** Something wrong with one file (or one line of it); the file or line was skipped, the rest went on. */
export interface IngestProblem {
  path: string;
  code: ErrorCode;
  message: string;
  /** 1-based line number, for line-oriented files (JSONL). */
  line?: number;
}

export interface WalkOptions {
  maxFileBytes: number;
  /** More gitignore-style patterns, matched relative to each given directory. */
  extraExcludes?: string[];
  /** Real paths of folders a symlinked file must resolve inside; links leading elsewhere are skipped as problems. */
  confineTo?: readonly string[];
}

export interface WalkResult {
  files: WalkedFile[];
  problems: IngestProblem[];
}

/** Directories never worth indexing: VCS data, dependencies, build output, caches. */
export const DEFAULT_EXCLUDED_DIRS: ReadonlySet<string> = new Set([
  'node_modules', '.git', '.hg', '.svn', 'dist', 'build', 'out', 'target', '.next', '.nuxt', '.cache',
  '__pycache__', '.venv', 'venv', 'coverage', '.tox', '.mypy_cache', '.pytest_cache', '.ruff_cache',
  '.gradle', '.idea', '.terraform', 'bower_components',
]);

/** Files that are generated, secret or metadata rather than content. */
export const DEFAULT_EXCLUDED_FILES: ReadonlySet<string> = new Set([
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock',
  'Cargo.lock', 'poetry.lock', 'Pipfile.lock', 'uv.lock', 'Gemfile.lock', 'composer.lock', 'go.sum',
  'flake.lock', 'mix.lock', 'packages.lock.json', 'Podfile.lock',
  '.DS_Store', 'Thumbs.db', '.gitignore', '.gitattributes', '.gitmodules', '.env',
]);

/** Extensions of binary formats (checked lower-cased, without the dot). Content sniffing in the loader catches the rest. */
export const BINARY_EXTENSIONS: ReadonlySet<string> = new Set([
  // images
  'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'icns', 'webp', 'tif', 'tiff', 'psd', 'heic', 'heif', 'avif', 'raw', 'svgz',
  // archives and packages
  'zip', 'gz', 'tgz', 'bz2', 'xz', 'zst', 'lz4', '7z', 'rar', 'tar', 'jar', 'war', 'ear', 'whl', 'egg', 'deb', 'rpm',
  'dmg', 'iso', 'img', 'apk', 'ipa', 'crx', 'vsix',
  // audio and video
  'mp3', 'mp4', 'm4a', 'm4v', 'wav', 'flac', 'ogg', 'oga', 'opus', 'aac', 'wma', 'avi', 'mov', 'mkv', 'webm', 'wmv', 'flv',
  'mpg', 'mpeg', '3gp',
  // fonts
  'woff', 'woff2', 'ttf', 'otf', 'eot',
  // executables, objects, bytecode
  'exe', 'dll', 'so', 'dylib', 'a', 'o', 'obj', 'lib', 'class', 'pyc', 'pyo', 'pyd', 'node', 'wasm', 'bin', 'elf', 'out',
  // documents stored in binary containers (PDF, .docx and .epub have loaders of their own)
  'doc', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'mobi',
  // databases, models, arrays
  'sqlite', 'sqlite3', 'db', 'db-wal', 'db-shm', 'mdb', 'onnx', 'pt', 'pth', 'ckpt', 'safetensors', 'h5', 'hdf5', 'pkl',
  'pickle', 'npy', 'npz', 'parquet', 'arrow', 'feather', 'tflite', 'pb', 'gguf', 'mlmodel',
  // other
  'swf', 'fla', 'blend', 'fbx', 'glb', 'dat', 'jks', 'keystore', 'p12', 'pfx', 'der',
]);

/**
 * Lists the files under `paths`, sorted by path. Throws PATH_NOT_FOUND when a given path does not exist;
 * per-file trouble (too large, unreadable, broken symlink) becomes a problem and the walk goes on.
 */
export async function walkPaths(paths: string[], opts: WalkOptions): Promise<WalkResult> {
  const files = new Map<string, WalkedFile>();
  const problems: IngestProblem[] = [];

  for (const given of paths) {
    const absolute = path.resolve(given);
    let stats: Stats;
    try {
      // stat (not lstat): a path named explicitly is followed even when it is a symlink to a directory.
      stats = await fs.stat(absolute);
    } catch (err) {
      throw new SieveError('PATH_NOT_FOUND', `No such file or directory: ${given}`, { path: absolute }, { cause: err });
    }
    if (stats.isDirectory()) {
      const extra = opts.extraExcludes && opts.extraExcludes.length > 0 ? ignore().add(opts.extraExcludes) : null;
      let levels = await ancestorGitignores(absolute);
      // A directory named explicitly is wanted even if its own repository ignores it (e.g. a vendored package).
      if (isIgnored(absolute, true, levels, absolute, null)) levels = [];
      await walkDirectory(absolute, absolute, levels, extra, opts, files, problems);
    } else if (stats.isFile()) {
      addFile(absolute, absolute, stats, opts, files, problems);
    } else {
      problems.push({ path: absolute, code: 'FILE_UNREADABLE', message: `${absolute} is not a regular file; skipped.` });
    }
  }

  // A symlink to a file the walk also found by its own path (a README.md linked to docs/README.md) would index the
  // same text twice: the file is kept under its own path.
  for (const file of [...files.values()]) if (file.linkTarget !== undefined && file.linkTarget !== file.path && files.has(file.linkTarget)) files.delete(file.path);

  return {
    files: [...files.values()].sort((a, b) => compareStrings(a.path, b.path)),
    problems: problems.sort((a, b) => compareStrings(a.path, b.path)),
  };
}

/** One directory's .gitignore rules; patterns are relative to `base`. */
interface IgnoreLevel {
  base: string;
  matcher: Ignore;
}

async function walkDirectory(
  dir: string,
  root: string,
  parentLevels: IgnoreLevel[],
  extra: Ignore | null,
  opts: WalkOptions,
  files: Map<string, WalkedFile>,
  problems: IngestProblem[],
): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    problems.push({ path: dir, code: 'FILE_UNREADABLE', message: `Cannot read directory ${dir}: ${errorMessage(err)}` });
    return;
  }
  const levels = [...parentLevels];
  const ownRules = await readGitignore(dir);
  if (ownRules !== null) levels.push({ base: dir, matcher: ownRules });

  entries.sort((a, b) => compareStrings(a.name, b.name));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (isExcludedDirName(entry.name)) continue;
      if (isIgnored(full, true, levels, root, extra)) continue;
      await walkDirectory(full, root, levels, extra, opts, files, problems);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      if (isExcludedFileName(entry.name)) continue;
      if (isIgnored(full, false, levels, root, extra)) continue;
      let stats: Stats;
      try {
        stats = entry.isSymbolicLink() ? await fs.stat(full) : await fs.lstat(full);
      } catch (err) {
        // Node reads names as UTF-8; a name in another encoding (Latin-1 from an old archive) comes back with U+FFFD
        // in it and no longer names the file.
        const message = full.includes('\uFFFD')
          ? `Cannot read ${full}: its name is not valid UTF-8; rename the file (e.g. convmv -f latin1 -t utf8)`
          : `Cannot read ${full}: ${errorMessage(err)}`;
        problems.push({ path: full, code: 'FILE_UNREADABLE', message });
        continue;
      }
      // Symlinked directories are not followed: they can form cycles and duplicate whole trees.
      if (!stats.isFile()) continue;
      const target = entry.isSymbolicLink() ? await realPathOf(full) : undefined;
      if (entry.isSymbolicLink() && opts.confineTo && (target === undefined || !isInside(target, opts.confineTo))) {
        problems.push({ path: full, code: 'PATH_OUTSIDE_ROOT', message: `${full} is a symlink to a file outside the allowed roots; skipped.` });
        continue;
      }
      addFile(full, root, stats, opts, files, problems, target);
    }
    // Sockets, FIFOs and devices are never content.
  }
}

async function realPathOf(file: string): Promise<string | undefined> {
  try {
    return await fs.realpath(file);
  } catch {
    return undefined;
  }
}

function isInside(real: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => {
    const rel = path.relative(dir, real);
    return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
  });
}

function addFile(
  file: string,
  root: string,
  stats: Stats,
  opts: WalkOptions,
  files: Map<string, WalkedFile>,
  problems: IngestProblem[],
  linkTarget?: string,
): void {
  if (files.has(file)) return;
  // A .jsonl file may be a BEIR corpus, which ingest streams whatever its size; ingest applies the limit to the rest.
  if (stats.size > opts.maxFileBytes && !isJsonl(file)) {
    problems.push(tooLargeProblem(file, stats.size, opts.maxFileBytes));
    return;
  }
  files.set(file, { path: file, root, size: stats.size, mtimeMs: stats.mtimeMs, ...(linkTarget !== undefined ? { linkTarget } : {}) });
}

/** A .jsonl file: possibly a BEIR corpus, which ingest streams (and sizes) itself. */
export function isJsonl(filePath: string): boolean {
  return /\.jsonl$/i.test(filePath);
}

export function tooLargeProblem(file: string, size: number, maxFileBytes: number): IngestProblem {
  return {
    path: file,
    code: 'FILE_TOO_LARGE',
    message: `${file} is ${formatBytes(size)}, over the ${formatBytes(maxFileBytes)} limit; skipped.`,
  };
}

/** Git semantics across levels: the deepest .gitignore with an opinion wins; extra excludes always exclude. */
function isIgnored(full: string, isDir: boolean, levels: IgnoreLevel[], root: string, extra: Ignore | null): boolean {
  let ignored = false;
  for (const level of levels) {
    const relative = toPosix(path.relative(level.base, full)) + (isDir ? '/' : '');
    const result = level.matcher.test(relative);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  if (ignored) return true;
  if (extra !== null) {
    const relative = toPosix(path.relative(root, full)) + (isDir ? '/' : '');
    if (extra.ignores(relative)) return true;
  }
  return false;
}

/** .gitignore files between the enclosing git work tree's top and `dir` (exclusive), outermost first. */
async function ancestorGitignores(dir: string): Promise<IgnoreLevel[]> {
  const ancestors: string[] = [];
  let current = dir;
  let gitRoot: string | null = null;
  for (;;) {
    if (await exists(path.join(current, '.git'))) {
      gitRoot = current;
      break;
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
    ancestors.push(current);
  }
  if (gitRoot === null || gitRoot === dir) return [];
  const levels: IgnoreLevel[] = [];
  for (const ancestor of ancestors.reverse()) {
    const rules = await readGitignore(ancestor);
    if (rules !== null) levels.push({ base: ancestor, matcher: rules });
  }
  return levels;
}

async function readGitignore(dir: string): Promise<Ignore | null> {
  let content: string;
  try {
    content = await fs.readFile(path.join(dir, '.gitignore'), 'utf8');
  } catch {
    return null;
  }
  return ignore().add(content);
}

function isExcludedDirName(name: string): boolean {
  return DEFAULT_EXCLUDED_DIRS.has(name) || name.startsWith('.sieve');
}

function isExcludedFileName(name: string): boolean {
  if (DEFAULT_EXCLUDED_FILES.has(name)) return true;
  // .env.local, .env.production…: secrets must never reach an index that feeds an LLM.
  if (name.startsWith('.env.')) return true;
  const lower = name.toLowerCase();
  // Minified bundles and source maps are generated noise.
  if (lower.endsWith('.min.js') || lower.endsWith('.min.css') || lower.endsWith('.map')) return true;
  // A gzip-compressed file is read as the file inside it (README.gz, changelog.Debian.gz, app.log.gz), unless that is
  // itself binary or an archive (.tar.gz).
  const inner = lower.endsWith('.gz') ? lower.slice(0, -3) : lower;
  const dot = inner.lastIndexOf('.');
  return dot > 0 && BINARY_EXTENSIONS.has(inner.slice(dot + 1));
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

/** Code-unit order, independent of locale, so the walk order is the same on every machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
