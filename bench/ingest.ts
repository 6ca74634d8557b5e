import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine } from '../src/engine.js';

export async function benchIngest(o: { data: string; home?: string }) {
  const corpus = join(o.data, 'corpus.jsonl');
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-ingest-'));
  const engine = await openEngine({ home, llm: null });
  const first = await engine.ingest([corpus]);
  const second = await engine.ingest([corpus]);
  const stats = engine.stats();
  engine.close();
  if (!o.home) rmSync(home, { recursive: true, force: true });
  return {
    bench: 'ingest',
    data: o.data,
    documents: stats.documents,
    chunks: stats.chunks,
    first_s: first.seconds,
    second_s: second.seconds,
    second_written: second.documents,
    speedup: first.seconds / second.seconds,
    docs_per_s: first.documents / first.seconds,
  };
}
