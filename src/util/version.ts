// sieve's own name and version, from its package.json (found from this file in src/ and in dist/src/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { name: string; version: string } | undefined;

export function packageInfo(): { name: string; version: string } {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sieve') return (cached = { name: pkg.name, version: pkg.version ?? '0.0.0' });
    }
    dir = dirname(dir);
  }
  return (cached = { name: 'sieve', version: '0.0.0' });
}
