// `sieve doctor`: what works on this machine and this home, and what to do about what does not. Each check
// reads the open engine or probes one dependency (the LLM server, the training backend); no check writes to the
// home (only repairFullTextIndex, behind --repair, does). A failed check is something a user would otherwise meet as an error later; a warning is a reduced mode
// that still works (extractive answers, lexical-only retrieval, no training).
import { existsSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import cron from 'node-cron';
import { databasePath } from './config.js';
import { chooseExecutionProviders, detectCuda, providerName } from './embed/runtime.js';
import type { Engine } from './engine.js';
import { probeLlm, type LlmProbe } from './llm/client.js';
import { DEFAULT_MODEL_NAME, llmConfigFromEnv, type LlmConfig } from './llm/config.js';
import { loadMlx } from './train/mlx.js';
import { activeModel } from './train/registry.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do, when the status is not ok. */
  fix?: string;
}

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** The LLM the asks would use (null: none); by default read from SIEVE_LLM_* in `env`, as the CLI does. */
  llm?: LlmConfig | null;
  env?: NodeJS.ProcessEnv;
  /** Seams for tests; the defaults probe the real dependency. */
  probeLlm?: (config: LlmConfig) => Promise<LlmProbe>;
  loadTrainer?: () => Promise<unknown>;
  nodeVersion?: string;
  freeBytes?: (path: string) => number;
}

/** The oldest Node sieve supports (package.json "engines"). */
export const MIN_NODE_VERSION = [20, 19] as const;

export async function diagnose(engine: Engine, opts: DoctorOptions): Promise<DoctorReport> {
  const checks = [
    checkNode(opts.nodeVersion ?? process.versions.node),
    checkDatabase(engine),
    checkCorpus(engine),
    checkDisk(engine, opts.freeBytes ?? freeBytesAt),
    checkDense(engine),
    checkRanker(engine),
    await checkNeuralEngine(engine),
    await checkTrainer(opts.loadTrainer ?? loadMlx),
    checkSchedule(engine.config.train.schedule),
    await checkLlm(opts.llm === undefined ? llmFromEnv(opts.env ?? process.env) : opts.llm, opts.probeLlm ?? probeLlm),
  ];
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

/** Rebuilds the full-text index when it does not match the stored chunks; true when it did. Touches nothing else. */
export function repairFullTextIndex(engine: Engine): boolean {
  if (!engine.store.fullTextIndexCheck().problem) return false;
  engine.store.rebuildFullTextIndex();
  return true;
}

export function checkNode(version: string): DoctorCheck {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor, needMinor] = MIN_NODE_VERSION;
  const detail = `Node ${version} on ${process.platform}-${process.arch}`;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return { name: 'runtime', status: 'ok', detail };
  return { name: 'runtime', status: 'fail', detail, fix: `install Node ${needMajor}.${needMinor} or newer` };
}

function checkDatabase(engine: Engine): DoctorCheck {
  const name = 'database';
  const problems = engine.store.integrityCheck().filter((line) => line !== 'ok');
  const fts = engine.store.fullTextIndexCheck();
  if (fts.problem) problems.push(`full-text index: ${fts.problem}`);
  const journal = String(engine.store.db.pragma('journal_mode', { simple: true }));
  if (problems.length > 0) {
    return {
      name,
      status: 'fail',
      detail: `${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}`,
      fix:
        problems.length === 1 && fts.problem
          ? 'sieve doctor --repair rebuilds the full-text index from the stored chunks (nothing else changes)'
          : 'ingest into a new home (sieve --home <new> ingest <folders>); the files themselves are untouched',
    };
  }
  return { name, status: 'ok', detail: `intact (integrity and full-text checks), journal ${journal}, ${engine.config.home}` };
}

function checkCorpus(engine: Engine): DoctorCheck {
  const s = engine.store.stats();
  const detail = `${s.documents} documents, ${s.chunks} chunks from ${s.sources} files; ${s.traces} traces`;
  if (s.chunks === 0) return { name: 'corpus', status: 'warn', detail, fix: 'sieve ingest <folder> (Markdown, text, code, HTML, PDF, DOCX, CSV, e-mail, BEIR JSONL)' };
  return { name: 'corpus', status: 'ok', detail };
}

/** Free bytes on the filesystem holding `path`, as an unprivileged process may use them. */
function freeBytesAt(path: string): number {
  const fs = statfsSync(path);
  return fs.bavail * fs.bsize;
}

/** Least free space that leaves room to work: 1 GB, or twice the database (a new embedder's vectors, VACUUM, a backup). */
export const MIN_FREE_BYTES = 1e9;

function checkDisk(engine: Engine, freeBytes: (path: string) => number): DoctorCheck {
  const name = 'disk';
  const database = statSync(databasePath(engine.config)).size;
  const free = freeBytes(engine.config.home);
  const need = Math.max(MIN_FREE_BYTES, 2 * database);
  const gb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${Math.ceil(n / 1e6)} MB`);
  const detail = `${gb(free)} free where the home is; the database takes ${gb(database)}`;
  // A full disk fails an ingest or a training export midway; both roll back, but nothing new gets in.
  if (free < need) return { name, status: 'warn', detail, fix: `free at least ${gb(need)} on that filesystem, or move the home (sieve backup <dir>, then --home <dir>)` };
  return { name, status: 'ok', detail };
}

function checkDense(engine: Engine): DoctorCheck {
  const name = 'dense retrieval';
  const chosen = chooseExecutionProviders({ platform: process.platform, arch: process.arch, cudaAvailable: detectCuda(), cacheDir: '' }).map(providerName);
  if (!engine.config.embed.enabled) {
    return { name, status: 'ok', detail: `off (embed.enabled is false): lexical and history retrieval only; providers here would be ${chosen.join(' → ')}` };
  }
  const dense = engine.denseIndex();
  if (!dense) {
    return { name, status: 'warn', detail: 'embed.enabled is true but no embedder is active or shipped', fix: 'sieve train embedder, or reinstall so models/embedder is present' };
  }
  const detail = `embedder ${dense.embedder} (${dense.precision}) on ${dense.provider} (chosen: ${chosen.join(' → ')}); ${dense.points} of ${dense.chunks} chunks indexed`;
  if (dense.provider !== chosen[0]) {
    return { name, status: 'warn', detail, fix: `the ${chosen[0]} provider did not start (its reason is in the log when sieve starts); sieve runs on ${dense.provider}, slower` };
  }
  if (dense.points < dense.chunks) return { name, status: 'warn', detail, fix: 'sieve ingest <folders> again: it embeds what the index lacks' };
  return { name, status: 'ok', detail };
}

function checkRanker(engine: Engine): DoctorCheck {
  const name = 'ranking';
  const active = activeModel(engine.store, engine.config.home, 'relevance');
  const serving = engine.stats().ranker;
  if (!active) return { name, status: 'ok', detail: `${serving}: fused retriever scores until a relevance model trains from answers (sieve train)` };
  if (serving !== active.id) {
    return {
      name,
      status: 'fail',
      detail: `relevance model ${active.id} is active but not served (${serving} serves instead)`,
      fix: 'sieve models list, then sieve models activate <an earlier version>, or sieve train for a new one',
    };
  }
  return { name, status: 'ok', detail: `relevance model ${active.id}` };
}

/**
 * The FP16 graphs of the active models against the static ANE rules (`sieve models check`, one file at a time):
 * a graph that breaks them still runs, but Core ML sends its offending part to the CPU on a Mac.
 */
async function checkNeuralEngine(engine: Engine): Promise<DoctorCheck> {
  const name = 'neural engine';
  const { checkAneCompatibility } = await import('./embed/onnx/ane-check.js');
  const failing: string[] = [];
  let checked = 0;
  for (const kind of ['embedder', 'relevance'] as const) {
    const model = activeModel(engine.store, engine.config.home, kind);
    if (!model || !existsSync(model.dir)) continue;
    for (const file of readdirSync(model.dir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.onnx') || !/fp16/.test(file)) continue;
      checked += 1;
      const report = await checkAneCompatibility(readFileSync(join(model.dir, file)));
      if (!report.ok) failing.push(`${model.id}/${file}: ${report.violations.map((v) => `[${v.rule}] ${v.message}`).join('; ')}`);
    }
  }
  if (checked === 0) return { name, status: 'ok', detail: 'no active model has FP16 graphs to check' };
  if (failing.length > 0) {
    return { name, status: 'warn', detail: `${failing.length} of ${checked} FP16 graphs break the static ANE rules: ${failing.slice(0, 2).join(' | ')}`, fix: 'retrain the model with this sieve (sieve train), whose exporter writes ANE-form graphs' };
  }
  return { name, status: 'ok', detail: `${checked} FP16 graphs of the active models pass the static ANE check` };
}

async function checkTrainer(load: () => Promise<unknown>): Promise<DoctorCheck> {
  const name = 'training';
  try {
    await load();
    return { name, status: 'ok', detail: 'node-mlx loads: the nightly job and sieve train can run' };
  } catch (err) {
    // Ingest, search and ask never need it: a reduced mode, not a failure.
    return { name, status: 'warn', detail: 'node-mlx does not load: no retraining on this machine', fix: err instanceof Error ? err.message : String(err) };
  }
}

function checkSchedule(expression: string): DoctorCheck {
  const name = 'schedule';
  if (expression === 'off') return { name, status: 'ok', detail: 'scheduled retraining is off (train.schedule "off"); sieve train runs it by hand' };
  if (!cron.validate(expression)) {
    return { name, status: 'fail', detail: `train.schedule ${JSON.stringify(expression)} is not a cron expression`, fix: 'set train.schedule in config.json to e.g. "0 3 * * *", or "off"' };
  }
  return { name, status: 'ok', detail: `retrains on "${expression}" (local time) while sieve serve runs` };
}

/** The environment's LLM config, or the error that reading it raised (a malformed URL is a finding, not a crash). */
function llmFromEnv(env: NodeJS.ProcessEnv): LlmConfig | null | Error {
  try {
    return llmConfigFromEnv(env);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

async function checkLlm(config: LlmConfig | null | Error, probe: (config: LlmConfig) => Promise<LlmProbe>): Promise<DoctorCheck> {
  const name = 'llm';
  if (config instanceof Error) return { name, status: 'fail', detail: config.message, fix: 'correct the SIEVE_LLM_* variables, or unset SIEVE_LLM_BASE_URL for extractive answers' };
  if (!config) {
    return {
      name,
      status: 'warn',
      detail: 'no LLM configured: answers are extractive, with citations',
      fix: 'set SIEVE_LLM_BASE_URL to an OpenAI-compatible server (mlx_lm.server, llama-server, Ollama, vLLM), e.g. http://127.0.0.1:8080/v1, and SIEVE_LLM_MODEL',
    };
  }
  const result = await probe(config);
  if (!result.ok) {
    return { name, status: 'fail', detail: result.error ?? `no answer from ${config.baseUrl}`, fix: `start the LLM server, or correct SIEVE_LLM_BASE_URL (now ${config.baseUrl})` };
  }
  const listed = result.models.length > 0 ? result.models.join(', ') : 'none';
  const detail = `${config.baseUrl} answers; model ${config.model}; it lists ${listed}`;
  // Many local servers answer any name with the model they loaded, so an unlisted name is a warning, not a failure.
  if (config.model !== DEFAULT_MODEL_NAME && !result.models.includes(config.model)) {
    return { name, status: 'warn', detail, fix: `SIEVE_LLM_MODEL=${config.model} is not among the listed models; a server that serves one model may ignore it, others will refuse` };
  }
  return { name, status: 'ok', detail };
}
