// Engine configuration: defaults, overridden by <home>/config.json, then by what the caller passes.
// Validated with zod because it crosses a boundary (a file a person edits, CLI flags, HTTP).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { SieveError } from './errors.js';

export const ConfigSchema = z
  .object({
    home: z.string().min(1),
    chunking: z
      .object({
        maxTokens: z.number().int().min(32).max(8192).default(256),
        overlapTokens: z.number().int().min(0).max(1024).default(32),
      })
      .prefault({}),
    ingest: z
      .object({
        maxFileMb: z.number().positive().max(4096).default(20),
        exclude: z.array(z.string()).default([]),
      })
      .prefault({}),
    retrieval: z
      .object({
        /** Chunks fetched from BM25 per query before ranking. */
        bm25K: z.number().int().min(1).max(5000).default(200),
        /** Chunks taken from the history retriever (what similar past questions cited). */
        historyK: z.number().int().min(0).max(5000).default(100),
        /** Chunks taken from the HNSW index. */
        denseK: z.number().int().min(0).max(5000).default(100),
        /** FTS5 bm25() column weights: the title/heading-path field and the body. A title match counting twice
         *  is the usual BM25F prior; on SciFact *train* 2 beat 1, 1.5 and 3 (nDCG@10 0.696 vs 0.693–0.695). */
        headingWeight: z.number().min(0).max(100).default(2),
        bodyWeight: z.number().min(0).max(100).default(1),
      })
      .prefault({}),
    ask: z
      .object({
        budgetTokens: z.number().int().min(16).max(1_000_000).default(1500),
        /** Reading order of the selected context: strongest first, or strongest at both ends ("lost in the middle"). */
        order: z.enum(['strongest-first', 'edges']).default('strongest-first'),
      })
      .prefault({}),
    embed: z
      .object({
        /**
         * Dense retrieval with the active (or shipped) embedder. Off by default until hybrid wins across data
         * sets: measured here it gained +0.04 nDCG@10 on SciFact but lost on SQuAD (docs/BENCHMARKS.md).
         */
        enabled: z.boolean().default(false),
        /** Worker threads that embed a large backlog of chunks (first index, new embedder); 0 = one per core. */
        bulkWorkers: z.number().int().min(0).max(256).default(0),
      })
      .prefault({}),
    train: z
      .object({
        /** node-cron expression for scheduled retraining (local time), or "off". */
        schedule: z.string().default('0 3 * * *'),
        /** Attributed asks needed since the serving version before a retrain is attempted. */
        minLists: z.number().int().min(1).default(50),
        /** The job's embedder part, which runs only when dense retrieval is on (embed.enabled). */
        embedder: z
          .object({
            enabled: z.boolean().default(true),
            /** Used (question, chunk) pairs of the embedder's questions needed since the serving embedder. */
            minPairs: z.number().int().min(1).default(100),
            steps: z.number().int().min(1).max(100_000).default(300),
            /** Held-out nDCG@10 that ranking beside a new embedder may lose against the pair serving now. */
            rankingTolerance: z.number().min(0).max(1).default(0),
          })
          .prefault({}),
      })
      .prefault({}),
    feedback: z
      .object({
        /** Share of asks that show one lower-ranked candidate in the last slot, so the model learns about it. */
        exploreRate: z.number().min(0).max(1).default(0.05),
        /** Ranks considered for exploration (below what selection took, down to this). */
        exploreDepth: z.number().int().min(2).max(1000).default(30),
        /**
         * A question asked again is shown the next-best chunks in place of those its earlier asks were shown and
         * did not use (see rank/explore.ts withoutUnused).
         */
        rotateUnused: z.boolean().default(true),
        /** Seed of the exploration draw (reproducible benchmarks); omitted → random per process. */
        seed: z.number().int().optional(),
        retentionDays: z.number().positive().default(180),
        retentionCount: z.number().int().positive().default(200_000),
      })
      .prefault({}),
  })
  .strict();

export type SieveConfig = z.infer<typeof ConfigSchema>;
export type SieveConfigInput = z.input<typeof ConfigSchema>;

export const DEFAULT_HOME = '.sieve';

export function databasePath(config: SieveConfig): string {
  return join(config.home, 'sieve.db');
}

/** Reads <home>/config.json when present and merges the caller's overrides over it. */
export function resolveConfig(overrides: Partial<SieveConfigInput> & { home?: string } = {}): SieveConfig {
  const home = resolve(overrides.home ?? DEFAULT_HOME);
  const file = join(home, 'config.json');
  let fromFile: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new SieveError('CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const merged = deepMerge(fromFile, { ...overrides, home });
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SieveError('CONFIG_INVALID', `invalid configuration at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, {
      file: existsSync(file) ? file : undefined,
    });
  }
  return parsed.data;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
