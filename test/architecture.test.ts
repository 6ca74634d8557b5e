// Data flows one way — ingest → store → embed/index → rank → answer → feedback → train — and no module reaches
// back up that chain. This test reads every import of every source file and holds the pipeline folders to it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

/** Each pipeline folder's place in the chain: a folder may import from its own place or an earlier one. */
const STAGE: Record<string, number> = { store: 0, ingest: 1, embed: 2, rank: 3, llm: 4, feedback: 5, train: 6, server: 7, cli: 8 };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of static imports, re-exports and dynamic imports. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s+'(\.[^']+)'/g)) found.push(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) found.push(m[1]!);
  return found;
}

/** The pipeline folder a path under src/ belongs to, or null for shared code (util/, types, errors, config, engine). */
function stageOf(path: string): string | null {
  const top = relative(SRC, path).split(/[\\/]/)[0]!;
  return top in STAGE ? top : null;
}

describe('module boundaries', () => {
  it('finds static, re-exported and dynamic relative imports', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export { c } from './c.js';",
      "const d = await import('../d/d.js');",
      "import { z } from 'zod';",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(['./a.js', '../b/b.js', './c.js', '../d/d.js']);
  });

  it('no pipeline folder imports from a later one', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of sourceFiles(SRC)) {
      const from = stageOf(file);
      if (from === null) continue;
      for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
        const to = stageOf(resolve(dirname(file), spec));
        checked += 1;
        if (to !== null && STAGE[to]! > STAGE[from]!) violations.push(`${relative(SRC, file)} imports ${spec} (${from} must not reach ${to})`);
      }
    }
    expect(checked).toBeGreaterThan(100); // the scan really read the code base
    expect(violations).toEqual([]);
  });
});
