// What an extractive answer may quote from code. A source file or a fenced block is not prose: split at periods, it
// yields fragments like "''))); } catch (err) {". Its comments are prose (the author's own words about the code),
// and its lines are whole statements worth quoting as code; nothing else is.
import { languageForFile } from '../ingest/loaders/code.js';

/** A run of text to quote: prose (split into sentences by the caller) or one whole line of code. */
export interface AnswerSpan {
  kind: 'prose' | 'code';
  text: string;
  /** A code line's trailing comment: what it says of that line, quoted with it. */
  note?: string;
  /** The line of code right below a comment block (no blank line between): what the comment's last sentence describes. */
  describes?: string;
}

/**
 * Line-comment markers by language family. A known language outside these sets uses `//`; code of unknown language
 * (a fence without an info string) uses `//` and `# `.
 */
const HASH_COMMENT = new Set([
  'python', 'shell', 'ruby', 'perl', 'r', 'julia', 'elixir', 'yaml', 'toml', 'ini', 'makefile', 'dockerfile', 'cmake',
  'nix', 'terraform', 'hcl', 'powershell', 'graphql', 'procfile', 'just', 'php',
]);
const DASH_COMMENT = new Set(['sql', 'lua', 'haskell', 'elm']);
const PERCENT_COMMENT = new Set(['latex', 'erlang']);
const SEMICOLON_COMMENT = new Set(['clojure', 'ini', 'assembly']);
const NO_SLASH_COMMENT = new Set(['python', 'shell', 'ruby', 'perl', 'r', 'julia', 'elixir', 'yaml', 'toml', 'ini', 'makefile', 'dockerfile', 'cmake', 'sql', 'lua', 'haskell', 'elm', 'latex', 'erlang', 'clojure', 'powershell', 'procfile']);

/** A line of code longer than this is data or minified, not a statement a reader can take in. */
const MAX_CODE_LINE = 160;

function lineCommentMarkers(language: string | null): string[] {
  const markers: string[] = [];
  if (language === null || !NO_SLASH_COMMENT.has(language)) markers.push('//');
  // `#include` and `#define` are code: a hash comment is `#` then a space (or `#` alone) outside the hash languages.
  if (language === null || HASH_COMMENT.has(language)) markers.push('#');
  if (language !== null && DASH_COMMENT.has(language)) markers.push('--');
  if (language !== null && PERCENT_COMMENT.has(language)) markers.push('%');
  if (language !== null && SEMICOLON_COMMENT.has(language)) markers.push(';');
  return markers;
}

/** The comment text of a whole-line comment, or null when the line is code. */
function lineComment(trimmed: string, markers: readonly string[], language: string | null): string | null {
  for (const m of markers) {
    if (!trimmed.startsWith(m)) continue;
    if (m === '#' && language === null && !/^#(?:\s|$)/.test(trimmed)) continue;
    if (m === '#' && trimmed.startsWith('#!')) return ''; // a shebang says nothing
    return trimmed.slice(m.length).replace(/^[/#;%-]*\s?/, '');
  }
  return null;
}

/** Splits `code; // why` into its code and its comment, unless the marker might sit inside a string. */
function trailingComment(line: string, markers: readonly string[]): [string, string] | null {
  for (const m of markers) {
    if (m !== '//' && m !== '#') continue;
    const at = line.indexOf(` ${m} `);
    if (at <= 0) continue;
    const before = line.slice(0, at);
    // Balanced quotes before the marker: it is not inside a string literal.
    if (((before.match(/"/g)?.length ?? 0) % 2) + ((before.match(/'/g)?.length ?? 0) % 2) + ((before.match(/`/g)?.length ?? 0) % 2) !== 0) continue;
    return [before.trimEnd(), line.slice(at + m.length + 2).trim()];
  }
  return null;
}

/** A line worth quoting as code: it holds a word, it is not a lone bracket or keyword, and it fits on a line. */
function quotableCode(trimmed: string): boolean {
  return trimmed.length >= 3 && trimmed.length <= MAX_CODE_LINE && /[\p{L}\p{N}]{2,}/u.test(trimmed) && !/^[\])}]*\s*(?:else|finally|try|do|begin|end)?\s*[[({]*;?$/.test(trimmed);
}

/**
 * Code split into what may be quoted, in order: each comment block (line comments, block comments, doc comments,
 * Python docstrings) as one prose span, and each other line as one code span.
 */
export function codeSpans(code: string, language: string | null): AnswerSpan[] {
  const markers = lineCommentMarkers(language);
  const out: AnswerSpan[] = [];
  let comment: string[] = [];
  const flush = (describes?: string): void => {
    const text = comment.join('\n').trim();
    if (text !== '') out.push(describes === undefined ? { kind: 'prose', text } : { kind: 'prose', text, describes });
    comment = [];
  };
  let inBlock: '*/' | '"""' | "'''" | null = null;
  for (const raw of code.split('\n')) {
    const trimmed = raw.trim();
    if (inBlock !== null) {
      const close = trimmed.indexOf(inBlock);
      const body = (close === -1 ? trimmed : trimmed.slice(0, close)).replace(/^\*+\s?/, '');
      comment.push(body);
      if (close !== -1) inBlock = null;
      continue;
    }
    if (trimmed === '') {
      flush();
      continue;
    }
    const opener = /^(?:\/\*+|[rRbBuU]?"""|[rRbBuU]?''')/.exec(trimmed);
    const usesOpener = opener !== null && (opener[0].startsWith('/') ? language === null || !NO_SLASH_COMMENT.has(language) : language === 'python');
    if (opener !== null && usesOpener) {
      const closer = opener[0].startsWith('/') ? '*/' : (opener[0].slice(-3) as '"""' | "'''");
      const rest = trimmed.slice(opener[0].length);
      const close = rest.indexOf(closer);
      comment.push(close === -1 ? rest : rest.slice(0, close));
      if (close === -1) inBlock = closer;
      continue;
    }
    const c = lineComment(trimmed, markers, language);
    if (c !== null) {
      comment.push(c);
      continue;
    }
    const split = trailingComment(trimmed, markers);
    const codePart = split ? split[0] : trimmed;
    const note = split?.[1] ?? '';
    const quotable = quotableCode(codePart);
    flush(quotable ? codePart : undefined);
    if (quotable) out.push(note === '' ? { kind: 'code', text: codePart } : { kind: 'code', text: codePart, note });
    else if (note !== '') out.push({ kind: 'prose', text: note });
  }
  flush();
  return out;
}

/** A fence line: three or more backticks or tildes, then the info string (its first word names the language). */
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w#+.-]*)/;

/** Fence info strings that name a language rather than an extension. */
const FENCE_LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  python: 'python', javascript: 'javascript', typescript: 'typescript', shell: 'shell', console: 'shell', rust: 'rust', ruby: 'ruby',
};

/** The language a fence's info string names: by extension (`ts`, `sh`) or by name (`python`, `console`). */
function fenceLanguage(info: string): string | null {
  if (info === '') return null;
  const lower = info.toLowerCase();
  return languageForFile(`x.${lower}`) ?? FENCE_LANGUAGE_NAMES[lower] ?? null;
}

/**
 * A context passage split into what an extractive answer may quote: a source file's text as code; any other
 * passage as prose, with its fenced code blocks as code.
 */
export function answerSpans(text: string, source: string): AnswerSpan[] {
  const language = languageForFile(source);
  if (language !== null) return codeSpans(text, language);
  const out: AnswerSpan[] = [];
  const lines = text.split('\n');
  let prose: string[] = [];
  const flushProse = (): void => {
    const t = prose.join('\n');
    if (t.trim() !== '') out.push({ kind: 'prose', text: t });
    prose = [];
  };
  let i = 0;
  const fences = lines.flatMap((line, at) => {
    const m = FENCE.exec(line);
    return m === null ? [] : [{ at, info: m[2]! }];
  });
  const firstFence = fences[0];
  const lastFence = fences[fences.length - 1];
  // A chunk can begin inside a long code block that the chunker split: an odd number of fences, the first without
  // the info string an opening fence may carry, and nothing after the last one. What precedes the first is code.
  if (firstFence !== undefined && lastFence !== undefined && fences.length % 2 === 1 && firstFence.info === '' && lines.slice(lastFence.at + 1).every((l) => l.trim() === '')) {
    out.push(...codeSpans(lines.slice(0, firstFence.at).join('\n'), null));
    i = firstFence.at + 1;
  }
  for (; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) {
      prose.push(lines[i]!);
      continue;
    }
    flushProse();
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]!);
      if (close !== null && close[1]![0] === fence[0] && close[1]!.length >= fence.length && close[2] === '') break;
      body.push(lines[j]!);
    }
    out.push(...codeSpans(body.join('\n'), fenceLanguage(open[2]!)));
    i = j;
  }
  flushProse();
  return out;
}
