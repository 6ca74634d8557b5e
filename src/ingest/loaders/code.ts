// Source code: blocks are blank-line-separated runs of lines, and a top-level definition (at column 0) always starts
// a new block, taking the comments and decorators right above it. A definition's name is the heading path of its
// blocks until the next top-level statement, so a chunk of a long function still says which function it is in.
import path from 'node:path';
import type { Block, LoadedDocument } from '../../types.js';
import { splitLines } from './markdown.js';
import { rightTrimmedSpan } from './text.js';

/** Programming language by lower-cased extension. */
export const CODE_LANGUAGES: Readonly<Record<string, string>> = {
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript',
  py: 'python', pyi: 'python', go: 'go', rs: 'rust', java: 'java', kt: 'kotlin', kts: 'kotlin',
  c: 'c', h: 'c', cc: 'cpp', cpp: 'cpp', cxx: 'cpp', hpp: 'cpp', hh: 'cpp', hxx: 'cpp', m: 'objective-c', mm: 'objective-c',
  cs: 'csharp', fs: 'fsharp', rb: 'ruby', php: 'php', swift: 'swift', scala: 'scala', sc: 'scala', dart: 'dart',
  sh: 'shell', bash: 'shell', zsh: 'shell', fish: 'shell', ps1: 'powershell',
  sql: 'sql', lua: 'lua', pl: 'perl', pm: 'perl', r: 'r', jl: 'julia', ex: 'elixir', exs: 'elixir', erl: 'erlang',
  hs: 'haskell', ml: 'ocaml', mli: 'ocaml', clj: 'clojure', cljs: 'clojure', elm: 'elm', zig: 'zig', nim: 'nim',
  vue: 'vue', svelte: 'svelte', astro: 'astro', css: 'css', scss: 'scss', sass: 'sass', less: 'less',
  json: 'json', jsonc: 'json', json5: 'json', yaml: 'yaml', yml: 'yaml', toml: 'toml', ini: 'ini', xml: 'xml',
  proto: 'protobuf', graphql: 'graphql', gql: 'graphql', tf: 'terraform', hcl: 'hcl', cmake: 'cmake',
  gradle: 'groovy', groovy: 'groovy', vim: 'vim', bat: 'batch', cmd: 'batch', asm: 'assembly', s: 'assembly',
  sol: 'solidity', v: 'verilog', vhd: 'vhdl', tex: 'latex', nix: 'nix',
};

/** Code files known by their whole name rather than an extension. */
export const CODE_FILE_NAMES: Readonly<Record<string, string>> = {
  makefile: 'makefile', gnumakefile: 'makefile', dockerfile: 'dockerfile', containerfile: 'dockerfile',
  jenkinsfile: 'groovy', rakefile: 'ruby', gemfile: 'ruby', vagrantfile: 'ruby', justfile: 'just',
  'cmakelists.txt': 'cmake', brewfile: 'ruby', procfile: 'procfile',
};

/** The language of a source file by its name, or null when it is not code. */
export function languageForFile(filePath: string): string | null {
  const name = path.basename(filePath).toLowerCase();
  const byName = CODE_FILE_NAMES[name];
  if (byName !== undefined) return byName;
  if (name.startsWith('dockerfile.') || name.endsWith('.dockerfile')) return 'dockerfile';
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null;
  return CODE_LANGUAGES[name.slice(dot + 1)] ?? null;
}

const C_FAMILY = new Set(['c', 'cpp', 'objective-c', 'java', 'csharp']);
const SHELLS = new Set(['shell']);

const MODIFIERS =
  '(?:(?:export|default|declare|abstract|async|public|private|protected|internal|static|final|sealed|open|data|' +
  'inline|unsafe|extern|pub(?:\\([^)]*\\))?|local|override|partial|readonly|const(?=\\s+(?:fn|enum)\\b)|' +
  'tailrec|suspend|operator|infix|lazy|case|implicit|enum(?=\\s+class\\b)|annotation|sealed)\\s+)*';
const KEYWORDS =
  'function\\*?|class|interface|type|enum|namespace|module|struct|trait|fn|func|def|fun|object|protocol|' +
  'extension|const|let|var|val|record|union|mod|typealias|macro_rules!|defmodule|defp?|impl';
const KEYWORD_DEFINITION = new RegExp(`^${MODIFIERS}(${KEYWORDS})(?=[\\s(<{:]|$)\\s*([A-Za-z_$][\\w$.:]*)?`);
const RUST_IMPL = /^(?:unsafe\s+)?impl\b(?:\s*<[^>]*>)?\s+([^{]+?)\s*(?:\bwhere\b.*)?\{?\s*$/;
const GO_FUNC = /^func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)/;
const SQL_CREATE =
  /^create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unique|materialized|virtual)\s+)*(?:table|view|function|procedure|index|trigger|type|schema|sequence)\s+(?:if\s+not\s+exists\s+)?([\w."`[\]]+)/i;
const SHELL_FUNCTION = /^(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*(?:\{\s*)?$/;
const C_FUNCTION =
  /^(?!(?:if|for|while|switch|return|else|do|case|goto|typedef|using|namespace|template)\b)[A-Za-z_][\w:<>,*&\s]*?[\s*&]\**([A-Za-z_~][\w:~]*)\s*\([^;]*$/;
const EXPORT_STATEMENT = /^export\b/;

/** A top-level definition on this line: its name ('' when it has none, e.g. `export default {`), or null. */
export function detectDefinition(line: string, language: string | null): string | null {
  const first = line.charCodeAt(0);
  // Only column 0 counts; blank and indented lines are never top-level definitions.
  if (Number.isNaN(first) || first === 32 || first === 9) return null;
  let m = RUST_IMPL.exec(line);
  if (m !== null) return (m[1] as string).trim();
  m = GO_FUNC.exec(line);
  if (m !== null) return m[1] as string;
  if (language === 'sql') {
    m = SQL_CREATE.exec(line);
    if (m !== null) return (m[1] as string).replace(/["`[\]]/g, '');
  }
  m = KEYWORD_DEFINITION.exec(line);
  if (m !== null) return (m[2] ?? '').replace(/[.:]+$/, '');
  if (language !== null && SHELLS.has(language)) {
    m = SHELL_FUNCTION.exec(line);
    if (m !== null) return m[1] as string;
  }
  if (language !== null && C_FAMILY.has(language)) {
    m = C_FUNCTION.exec(line);
    if (m !== null) return m[1] as string;
  }
  if (EXPORT_STATEMENT.test(line)) return '';
  return null;
}

/** Lines that belong to the definition below them: comments, doc comments, decorators and attributes. */
function isLeadingTrivia(line: string, language: string | null): boolean {
  const t = line.trimStart();
  if (t.startsWith('//') || t.startsWith('/*') || t.startsWith('*') || t.startsWith('@') || t.startsWith('--')) return true;
  if (t.startsWith('#[') || t.startsWith('#![')) return true; // Rust attributes
  if (t.startsWith('#') && language !== null && !C_FAMILY.has(language)) return true; // shell/python/ruby comments
  return t.startsWith('"""') || t.startsWith("'''");
}

/** Column-0 lines that continue the definition above rather than start new top-level code. */
function isClosingLine(line: string): boolean {
  return /^(?:[}\])]|end\b|fi\b|done\b|esac\b)/.test(line);
}

export function loadCode(filePath: string, text: string, language: string | null): LoadedDocument {
  const lines = splitLines(text);
  const blocks: Block[] = [];
  let currentName: string | null = null;
  let blockFirstLine = -1;
  let blockIsDefinition = false;
  let blockPath: string[] = [];

  const closeBlock = (lastLine: number): void => {
    if (blockFirstLine === -1 || lastLine < blockFirstLine) {
      blockFirstLine = -1;
      return;
    }
    const first = lines[blockFirstLine];
    const last = lines[lastLine];
    if (first !== undefined && last !== undefined) {
      const span = rightTrimmedSpan(text, first.start, last.end);
      if (span !== null) blocks.push({ ...span, headingPath: blockPath, type: blockIsDefinition ? 'definition' : 'code' });
    }
    blockFirstLine = -1;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as { text: string }).text;
    if (line.trim() === '') {
      closeBlock(i - 1);
      continue;
    }
    const definition = detectDefinition(line, language);
    if (definition !== null) {
      // Comments and decorators directly above the definition move with it into its block.
      let start = i;
      while (start > blockFirstLine && blockFirstLine !== -1 && isLeadingTrivia((lines[start - 1] as { text: string }).text, language)) start--;
      closeBlock(start - 1);
      currentName = definition === '' ? null : definition;
      blockFirstLine = start;
      blockIsDefinition = true;
      blockPath = currentName === null ? [] : [currentName];
      continue;
    }
    if (blockFirstLine === -1) {
      // A new block at column 0 that is not a definition, a comment or a closing bracket is new top-level code.
      const atColumnZero = line.charCodeAt(0) !== 32 && line.charCodeAt(0) !== 9;
      if (atColumnZero && !isClosingLine(line) && !isLeadingTrivia(line, language)) currentName = null;
      blockFirstLine = i;
      blockIsDefinition = false;
      blockPath = currentName === null ? [] : [currentName];
    }
  }
  closeBlock(lines.length - 1);

  return {
    uri: filePath,
    externalId: null,
    title: path.basename(filePath),
    text,
    kind: 'code',
    language,
    metadata: {},
    blocks,
  };
}
