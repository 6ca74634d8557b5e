#!/usr/bin/env node
// Regenerates types/frost-beta-mlx/index.d.ts: the `core` namespace of @frost-beta/mlx's declarations, without
// the nn/optimizers/utils re-exports (those point at .ts sources that fail strict type checking).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@frost-beta/mlx/package.json'));
const src = readFileSync(join(pkgDir, 'lib/index.d.ts'), 'utf8');
const cut = src.indexOf('// The nn module.');
if (cut < 0) throw new Error('unexpected layout of @frost-beta/mlx/lib/index.d.ts');
const header = [
  "// Vendored from @frost-beta/mlx lib/index.d.ts (MIT): the 'core' namespace only.",
  "// The package's nn/optimizers/utils modules ship as .ts sources that fail this project's strict type check,",
  "// so sieve's training code uses core ops (its own layers and optimizer) and type-checks against this file.",
  '// Regenerate with: node scripts/vendor-mlx-types.mjs',
].join('\n');
writeFileSync(new URL('../types/frost-beta-mlx/index.d.ts', import.meta.url), `${header}\n${src.slice(0, cut).trimEnd()}\n`);
