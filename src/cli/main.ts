#!/usr/bin/env node
// The `sieve` command. It parses and validates arguments, calls the engine, and formats results:
// `--json` output goes alone to stdout; progress and logs go to stderr.
import { isEntryPoint } from '../util/entry.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { backupHome } from '../backup.js';
import { diagnose, repairFullTextIndex, type DoctorReport } from '../doctor.js';
import { openEngine, type Engine, type OpenEngineOptions } from '../engine.js';
import { hintFor, SieveError, toSieveError } from '../errors.js';
import { listTraces, type ExplicitFeedback } from '../feedback/traces.js';
import { registerMcpCommand } from './mcp.js';
import type { IngestSummary } from '../ingest/ingest.js';
import { DEFAULT_DEBOUNCE_MS, watchPaths } from '../ingest/watch.js';
import { FEATURE_NAMES } from '../rank/features.js';
import { evaluateBeir } from '../train/evaluate.js';
import { registerTrainEmbedderCommand } from './train-embedder.js';
import type { AskResult, Scope, SearchHit } from '../types.js';
import { passageLocation } from '../util/pages.js';
import { readableText } from '../util/readable.js';
import { registerServeCommand } from './serve.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

/** Engine options for a --max-file-mb given on the command line (none: the home's config decides). */
function sizeLimit(maxFileMb: number | undefined): OpenEngineOptions {
  return maxFileMb === undefined ? {} : { ingest: { maxFileMb } };
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return n;
  };
}

/** A comma-separated list of relevance feature names, each one the ranker computes. */
function featureNames(value: string): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n.length > 0);
  const unknown = names.filter((n) => !(FEATURE_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`${unknown.length > 0 ? `unknown feature ${unknown.join(', ')}` : 'no feature named'}; the features are: ${FEATURE_NAMES.join(', ')}`);
  }
  return names;
}

/** Commander's parser for a variadic list of shown-item numbers ([n]), accumulating across repeats. */
function itemNumbers(name: string) {
  return (value: string, previous: number[] = []): number[] => {
    const numbers = value.split(',').filter((v) => v.trim() !== '').map((v) => Number(v.trim()));
    if (numbers.length === 0 || numbers.some((n) => !Number.isInteger(n) || n <= 0)) {
      throw new InvalidArgumentError(`${name} takes the numbers [n] of the sources shown with the answer (1, 2, …)`);
    }
    return [...previous, ...numbers];
  };
}

/** The feedback flags as the engine takes them; contradictions are refused rather than resolved silently. */
export function explicitFeedback(opts: { helpful?: boolean; notHelpful?: boolean; up?: number[]; down?: number[] }): ExplicitFeedback {
  if (opts.helpful && opts.notHelpful) throw new SieveError('FEEDBACK_INVALID', 'give --helpful or --not-helpful, not both');
  const both = (opts.up ?? []).filter((n) => (opts.down ?? []).includes(n));
  if (both.length > 0) throw new SieveError('FEEDBACK_INVALID', `source [${both[0]}] is both --up and --down`);
  const chunks: Record<number, 'up' | 'down'> = {};
  for (const n of opts.up ?? []) chunks[n] = 'up';
  for (const n of opts.down ?? []) chunks[n] = 'down';
  const helpful = opts.helpful ? true : opts.notHelpful ? false : undefined;
  if (helpful === undefined && Object.keys(chunks).length === 0) {
    throw new SieveError('FEEDBACK_INVALID', 'nothing to record: give --helpful or --not-helpful, and/or --up/--down with source numbers');
  }
  return { ...(helpful !== undefined ? { helpful } : {}), ...(Object.keys(chunks).length > 0 ? { chunks } : {}) };
}

/** A snippet with its matched words in bold on a terminal (plain text elsewhere, so pipes get no escape codes). */
export function emphasize(s: SearchHit['snippet'], terminal: boolean): string {
  if (!terminal) return s.text;
  let out = '';
  let cursor = 0;
  for (const [start, end] of s.highlights) {
    out += `${s.text.slice(cursor, start)}\x1b[1m${s.text.slice(start, end)}\x1b[22m`;
    cursor = end;
  }
  return out + s.text.slice(cursor);
}

/** Commander's collector for a repeatable option. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

type EvalMode = 'lexical' | 'dense' | 'hybrid';

interface GlobalOpts {
  home: string;
}

async function withEngine<T>(cmd: Command, fn: (engine: Engine) => Promise<T>, overrides: OpenEngineOptions = {}): Promise<T> {
  const { home } = cmd.optsWithGlobals<GlobalOpts>();
  const engine = await openEngine({ ...overrides, home });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** The doctor's report on a home; a home that is missing or does not open is the report's one failed check. */
async function doctorReport(home: string, repair: boolean): Promise<DoctorReport> {
  const { existsSync } = await import('node:fs');
  // Opening would create it: a checker must not leave a new home behind a mistyped --home.
  if (!existsSync(home)) {
    return { ok: false, checks: [{ name: 'home', status: 'fail', detail: `no home at ${home}`, fix: `check --home, or create one: sieve --home ${home} ingest <folder>` }] };
  }
  let engine: Engine;
  try {
    // Opened without the LLM: a malformed SIEVE_LLM_* is one of the findings, not a reason to stop.
    engine = await openEngine({ home, llm: null });
  } catch (err) {
    const e = toSieveError(err);
    return { ok: false, checks: [{ name: 'home', status: 'fail', detail: `${home} does not open: ${e.message}`, fix: hintFor(e.code) }] };
  }
  try {
    if (repair && repairFullTextIndex(engine)) log('rebuilt the full-text index from the stored chunks');
    return await diagnose(engine, {});
  } finally {
    engine.close();
  }
}

function summaryLine(s: IngestSummary): string {
  return (
    `ingested ${s.documents} documents (${s.chunks} chunks) from ${s.files} files; ` +
    `${s.skipped} unchanged, ${s.removed} removed, ${s.moved > 0 ? `${s.moved} moved, ` : ''}${s.problems.length} problems in ${s.seconds.toFixed(2)} s`
  );
}

/** A file name or title on one terminal line: control characters (a newline in a file name) shown escaped. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** Each skipped file with why, then once per kind of problem what to do about it. */
function logProblems(summary: IngestSummary): void {
  for (const p of summary.problems) {
    // Most messages already name the file (and line); print the location only where one does not.
    const where = p.message.includes(p.path) ? '' : `${p.path}${p.line ? `:${p.line}` : ''}: `;
    log(oneLine(`${p.code}: ${where}${p.message}`));
  }
  for (const code of new Set(summary.problems.map((p) => p.code))) log(`hint (${code}): ${hintFor(code)}`);
}

// Problems that mean input was lost (not merely skipped by policy) make the command fail.
const FAILING_PROBLEMS = new Set(['FILE_UNREADABLE', 'JSONL_MALFORMED']);

function formatAnswer(r: AskResult, streamed: boolean): string {
  const lines: string[] = [];
  if (!streamed) lines.push(r.answer, '');
  lines.push('Sources:');
  for (const c of r.context) {
    const cited = r.citations.some((x) => x.n === c.n) ? '*' : ' ';
    lines.push(`${cited}[${c.n}] ${oneLine(passageLocation(c))}  (${oneLine(c.source)})`);
    const text = readableText(c.text).replace(/\s+/g, ' ').trim();
    lines.push(`     ${text.slice(0, 160)}${text.length > 160 ? '…' : ''}`);
  }
  const t = r.timings;
  lines.push(
    '',
    `answered by ${r.answeredBy} · retrieve ${t.retrieveMs.toFixed(1)} ms · rank ${t.rankMs.toFixed(1)} ms · ` +
      `select ${t.selectMs.toFixed(1)} ms · answer ${t.answerMs.toFixed(1)} ms · total ${t.totalMs.toFixed(1)} ms · trace ${r.traceId}`,
  );
  return lines.join('\n');
}

export function buildProgram(): Command {
  const program = new Command('sieve')
    .description('A local retrieval context engine that learns which context answers use.')
    .option('--home <dir>', 'data directory (database, indexes, models)', '.sieve')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('ingest')
    .description('index files and folders (Markdown, text, code, HTML, PDF, Word .docx, EPUB, Jupyter .ipynb, e-mail .eml, CSV/TSV tables, BEIR corpus.jsonl; any of them .gz)')
    .argument('<paths...>', 'files or folders to ingest')
    .option('--prune', 'remove documents whose files are gone from disk under these paths')
    .option('--max-file-mb <n>', 'skip files larger than this (default: ingest.maxFileMb in the home\'s config.json, else 20; a BEIR corpus streams whatever its size)', positiveNumber('--max-file-mb'))
    .option('--json', 'print the summary as JSON')
    .action(async (paths: string[], opts: { prune?: boolean; maxFileMb?: number; json?: boolean }, cmd: Command) => {
      const summary = await withEngine(cmd, async (engine) => {
        const bar = process.stderr.isTTY && !opts.json ? new SingleBar({ format: 'ingest [{bar}] {value}/{total} files {file}', hideCursor: true, clearOnComplete: true }) : null;
        let started = false;
        const result = await engine.ingest(paths, {
          prune: opts.prune ?? false,
          onProgress: (p) => {
            if (!bar) return;
            if (!started) {
              bar.start(p.filesTotal, 0, { file: '' });
              started = true;
            }
            bar.update(p.filesDone, { file: p.path.slice(-40) + (p.corpusLines ? ` (${p.corpusLines.toLocaleString('en')} lines)` : '') });
          },
        });
        if (bar && started) bar.stop();
        return result;
      }, sizeLimit(opts.maxFileMb));
      logProblems(summary);
      if (opts.json) printJson(summary);
      else log(summaryLine(summary));
      if (summary.problems.some((p) => FAILING_PROBLEMS.has(p.code))) process.exitCode = 1;
      else if (summary.files === 0) {
        // Files skipped for a reason (too large, binary, empty) were found: say they were, not that nothing was.
        log(summary.problems.length > 0 ? `nothing was ingested: every file found was skipped (${summary.problems.length} listed above)` : 'no ingestible files found under the given paths');
        process.exitCode = 1;
      }
    });

  program
    .command('watch')
    .description('ingest files and folders, then keep the index in step with them: re-ingest after each change (Ctrl-C stops)')
    .argument('<paths...>', 'files or folders to keep indexed')
    .option('--no-prune', 'keep the documents of deleted files (by default a deletion removes them)')
    .option('--debounce <ms>', 'quiet time after a change before re-ingesting', positiveInt('--debounce'), DEFAULT_DEBOUNCE_MS)
    .option('--max-file-mb <n>', 'skip files larger than this (as for ingest)', positiveNumber('--max-file-mb'))
    .option('--json', 'print each ingest summary as one JSON line')
    .action(async (paths: string[], opts: { prune: boolean; debounce: number; maxFileMb?: number; json?: boolean }, cmd: Command) => {
      await withEngine(
        cmd,
        async (engine) => {
          const report = (summary: IngestSummary): void => {
            logProblems(summary);
            if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
            else log(`${new Date().toLocaleTimeString()} ${summaryLine(summary)}`);
          };
          report(await engine.ingest(paths, { prune: opts.prune }));
          const watcher = await watchPaths(paths, {
            debounceMs: opts.debounce,
            ignore: [engine.config.home],
            onSettled: async () => report(await engine.ingest(paths, { prune: opts.prune })),
            onError: (err) => log(`watch: ${toSieveError(err).message}`),
          });
          try {
            log(`watching ${paths.join(', ')} (Ctrl-C to stop)`);
            await new Promise<void>((resolve) => {
              process.once('SIGINT', resolve);
              process.once('SIGTERM', resolve);
            });
          } finally {
            watcher.close();
            await watcher.idle();
          }
        },
        sizeLimit(opts.maxFileMb),
      );
    });

  program
    .command('ask')
    .description('answer a question from the indexed documents, with numbered, cited context')
    .argument('<question>', 'the question')
    .option('--budget <tokens>', 'context token budget', positiveInt('--budget'))
    .option('--in <path>', 'answer only from documents ingested from this file or folder (repeatable)', collect)
    .option('--doc <id>', 'answer only from this document id (repeatable)', collect)
    .option('--json', 'print the whole result as JSON')
    .action(async (question: string, opts: { budget?: number; in?: string[]; doc?: string[]; json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        // Stream tokens to a terminal as they come; JSON callers get one object at the end.
        const stream = !opts.json && engine.answererKind === 'llm';
        const result = await engine.ask(question, {
          ...(opts.budget ? { budgetTokens: opts.budget } : {}),
          scope: { sources: opts.in, docIds: opts.doc },
          ...(stream ? { onToken: (t: string) => process.stdout.write(t) } : {}),
        });
        if (opts.json) printJson(result);
        else process.stdout.write(`${stream ? '\n\n' : ''}${formatAnswer(result, stream)}\n`);
      });
    });

  program
    .command('search')
    .description('rank chunks for a query, without answering')
    .argument('<query>', 'the query')
    .option('-k, --k <n>', 'how many results', positiveInt('-k'), 10)
    .option('--in <path>', 'search only documents ingested from this file or folder (repeatable)', collect)
    .option('--doc <id>', 'search only this document id (repeatable)', collect)
    .option('--json', 'print results as JSON')
    .action(async (query: string, opts: { k: number; in?: string[]; doc?: string[]; json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const hits = await engine.search(query, { k: opts.k, scope: { sources: opts.in, docIds: opts.doc } });
        if (opts.json) return printJson(hits);
        if (hits.length === 0) log('no matches');
        for (const h of hits) {
          process.stdout.write(`${h.rank}. ${h.score.toFixed(3)}  ${oneLine(passageLocation(h))}  (${oneLine(h.source)})\n   ${emphasize(h.snippet, process.stdout.isTTY === true)}\n`);
        }
      });
    });

  program
    .command('eval')
    .description('evaluate retrieval on a BEIR data set (ingests its corpus into --home first)')
    .requiredOption('--data <dir>', 'BEIR folder with corpus.jsonl, queries.jsonl, qrels/<split>.tsv')
    .option('--split <name>', 'qrels split to evaluate', 'test')
    .addOption(
      new Option('--mode <mode>', 'retrievers: BM25 only, HNSW only, or both fused (default: as the home is configured, embed.enabled)').choices([
        'lexical',
        'dense',
        'hybrid',
      ]),
    )
    .option('--keep-identical-ids', "keep a document whose id is the query's own id in its ranking (BEIR drops it, as for ArguAna and Quora, and so does sieve by default)")
    .option('--json', 'print the report as JSON')
    .action(async (opts: { data: string; split: string; mode?: EvalMode; keepIdenticalIds?: boolean; json?: boolean }, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<GlobalOpts>();
      const engine = await openEngine({ home, ...(opts.mode ? { embed: { enabled: opts.mode !== 'lexical' } } : {}) });
      try {
        const mode: EvalMode = opts.mode ?? (engine.config.embed.enabled ? 'hybrid' : 'lexical');
        if (mode !== 'lexical' && !engine.denseIndex()) {
          throw new SieveError('MODEL_INVALID', `--mode ${mode} needs an embedder: none is registered and models/embedder is missing`);
        }
        if (mode === 'dense') engine.useRetrievers(['dense', 'history']);
        const report = { ...(await evaluateBeir(engine, { data: opts.data, split: opts.split, keepIdenticalIds: opts.keepIdenticalIds ?? false })), mode };
        if (opts.json) {
          printJson(report);
          return;
        }
        log(`corpus: ${report.ingest.documents} documents written, ${report.ingest.skipped} unchanged (${report.ingest.seconds.toFixed(2)} s)`);
        if (report.identical_ids_dropped > 0) {
          log(`${report.identical_ids_dropped} queries are corpus documents themselves: each one's own document was left out of its ranking, as BEIR does (--keep-identical-ids keeps it)`);
        }
        process.stdout.write(
          [
            `${opts.data} split=${opts.split} queries=${report.queries} mode=${mode} ranker=${report.ranker}`,
            `ndcg@10     ${report['ndcg@10'].toFixed(4)}`,
            `recall@100  ${report['recall@100'].toFixed(4)}`,
            `mrr@10      ${report['mrr@10'].toFixed(4)}`,
            `recall@1    ${report['recall@1'].toFixed(4)}`,
            `latency ms  p50 ${report.latency_ms.p50.toFixed(2)}  p95 ${report.latency_ms.p95.toFixed(2)}`,
          ].join('\n') + '\n',
        );
      } finally {
        engine.close();
      }
    });

  program
    .command('stats')
    .description('what the home holds')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const s = engine.stats();
        if (opts.json) return printJson(s);
        process.stdout.write(
          `home ${s.home}\n${s.documents} documents, ${s.chunks} chunks from ${s.sources} files; ${s.traces} traces\nranker ${s.ranker}, answers ${s.answerer}\n`,
        );
      });
    });

  program
    .command('backup')
    .description('copy the home (database, trained versions, config) into a new folder, safely while it serves; open the copy with --home')
    .argument('<dir>', 'a new or empty folder outside the home')
    .option('--json', 'print the summary as JSON')
    .action(async (dir: string, opts: { json?: boolean }, cmd: Command) => {
      await withEngine(
        cmd,
        async (engine) => {
          const summary = await backupHome(engine, dir);
          if (opts.json) printJson(summary);
          else log(`backed up to ${summary.dir}: database ${(summary.databaseBytes / 1e6).toFixed(1)} MB, ${summary.modelFolders} model versions, in ${summary.seconds.toFixed(1)} s`);
        },
        { llm: null },
      );
    });

  program
    .command('doctor')
    .description('check this machine and home (database, index, models, training backend, LLM server) and say what to fix')
    .option('--json', 'print the report as JSON')
    .option('--repair', 'rebuild the full-text index from the stored chunks if it does not match them, then check again')
    .action(async (opts: { json?: boolean; repair?: boolean }, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<GlobalOpts>();
      const report = await doctorReport(home, opts.repair ?? false);
      if (opts.json) printJson(report);
      else {
        // Columns: status, check name, detail; a fix goes on its own line under the detail.
        const [statusWidth, nameWidth] = [5, 16];
        const indent = ' '.repeat(statusWidth + 1 + nameWidth + 1);
        for (const c of report.checks) {
          process.stdout.write(`${c.status.padEnd(statusWidth)} ${c.name.padEnd(nameWidth)} ${c.detail}\n`);
          if (c.fix) process.stdout.write(`${indent}→ ${c.fix}\n`);
        }
      }
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command('sources')
    .description('the ingested files, with their documents and chunks: the paths --in selects from')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const sources = engine.store.listSources();
        if (opts.json) return printJson(sources);
        if (sources.length === 0) log('nothing ingested yet');
        for (const s of sources) process.stdout.write(`${oneLine(s.path)}  ${s.documents} documents, ${s.chunks} chunks (ingested ${s.ingestedAt})\n`);
      });
    });

  program
    .command('forget')
    .description('take what was ingested from files or folders out of the index (the files stay on disk)')
    .argument('<paths...>', 'ingested files or folders, as `sieve sources` lists them')
    .option('--json', 'print the summary as JSON')
    .action(async (paths: string[], opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const summary = await engine.forget(paths);
        if (opts.json) return printJson(summary);
        log(`forgot ${summary.documents} documents (${summary.chunks} chunks) from ${summary.sources} files`);
      });
    });

  program
    .command('feedback')
    .description("record a person's verdict on an answer and on its numbered sources; it outranks what attribution inferred")
    .argument('<trace>', 'the trace id `sieve ask` printed (or `sieve traces` lists)')
    .option('--helpful', 'the answer was helpful')
    .option('--not-helpful', 'the answer was not helpful')
    .option('--up <n...>', 'sources [n] that were useful (e.g. --up 1 3)', itemNumbers('--up'))
    .option('--down <n...>', 'sources [n] that were not', itemNumbers('--down'))
    .option('--json', 'print what was recorded as JSON')
    .action(async (traceId: string, opts: { helpful?: boolean; notHelpful?: boolean; up?: number[]; down?: number[]; json?: boolean }, cmd: Command) => {
      const feedback = explicitFeedback(opts);
      await withEngine(cmd, async (engine) => {
        const outcome = engine.feedback(traceId, feedback);
        if (opts.json) return printJson(outcome);
        log(`recorded ${outcome.recorded} label${outcome.recorded === 1 ? '' : 's'} for trace ${traceId}`);
      });
    });

  program
    .command('traces')
    .description('list recent asks (question, answer, citations)')
    .addOption(new Option('--limit <n>', 'how many').argParser(positiveInt('--limit')).default(20))
    .option('--json', 'print as JSON')
    .action(async (opts: { limit: number; json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const rows = listTraces(engine.store, opts.limit);
        if (opts.json) return printJson(rows.map((r) => ({ ...r, citations: JSON.parse(r.citations) as unknown, scope: r.scope === null ? null : (JSON.parse(r.scope) as Scope) })));
        for (const r of rows) {
          const scope = r.scope === null ? '' : `  (in ${r.scope})`;
          process.stdout.write(`${r.createdAt}  ${r.id}${scope}\n  Q: ${r.question}\n  A: ${r.answer.slice(0, 200)}\n`);
        }
      });
    });

  const train = program.command('train').description('retrain from traces now (default), or train a model from a data set');
  train
    .command('now', { isDefault: true })
    .description('run the training job now: traces → relevance model (and, with dense retrieval on, the embedder) → gate → promote and hot-swap')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const outcome = await engine.train({ onLog: log });
        if (opts.json) printJson(outcome);
        else {
          log(`${outcome.status}: ${outcome.message} (${outcome.seconds.toFixed(1)} s)`);
          if (outcome.embedder) log(`embedder ${outcome.embedder.status}: ${outcome.embedder.message} (${outcome.embedder.seconds.toFixed(1)} s)`);
        }
        if (outcome.status === 'busy') process.exitCode = 1;
      });
    });
  train
    .command('relevance')
    .description('train the relevance model from a BEIR split (its qrels become history), export, register, activate')
    .requiredOption('--data <dir>', 'BEIR folder')
    .option('--split <name>', 'split to train on (never a test split)', 'train')
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 1)
    .option('--no-history', "do not load the split's qrels as history: a ranker for homes that have none yet")
    .option('--ignore-features <names>', 'comma-separated features the model must not read (e.g. position features that mean something else in another corpus)', featureNames)
    .option('--json', 'print the result as JSON')
    .action(async (opts: { data: string; split: string; seed: number; history: boolean; ignoreFeatures?: string[]; json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const { trainRelevanceFromQrels } = await import('../train/relevance/from-qrels.js');
        const r = await trainRelevanceFromQrels(engine, {
          data: opts.data,
          split: opts.split,
          seed: opts.seed,
          history: opts.history,
          ...(opts.ignoreFeatures ? { ignoreFeatures: opts.ignoreFeatures } : {}),
          log,
        });
        const out = { model: r.model.id, lists: r.lists, historyEvents: r.historyEvents, seconds: r.seconds, metrics: r.metrics };
        if (opts.json) printJson(out);
        else log(`registered and activated ${r.model.id} (${r.lists} lists, ${r.seconds.toFixed(1)} s): ${JSON.stringify(r.metrics)}`);
      });
    });

  registerTrainEmbedderCommand(train);

  const models = program.command('models').description('model versions: list, activate (roll back), check');
  models
    .command('list')
    .description('every registered version with its metrics; * marks the active one of each kind')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const { listModels } = await import('../train/registry.js');
        const all = listModels(engine.store, engine.config.home);
        if (opts.json) return printJson(all);
        if (all.length === 0) log('no models registered (ranking uses fused retriever scores)');
        for (const m of all) {
          process.stdout.write(`${m.active ? '*' : ' '} ${m.kind.padEnd(9)} ${m.id}  ${m.createdAt}  ${JSON.stringify(m.metrics)}\n`);
        }
      });
    });
  models
    .command('activate')
    .description('make a version the serving one (roll back or forward)')
    .argument('<id>', 'model version id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const { activateModel } = await import('../train/registry.js');
        const m = activateModel(engine.store, engine.config.home, id);
        await engine.reloadModels();
        log(`activated ${m.kind} ${m.id}`);
      });
    });
  models
    .command('check')
    .description('static ANE check of an ONNX file (ops, layout, static shapes, 64-byte rows, FP16 range on zero inputs)')
    .argument('<file>', 'ONNX model file')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { readFileSync, existsSync } = await import('node:fs');
      if (!existsSync(file)) throw new SieveError('PATH_NOT_FOUND', `no model file at ${file}`);
      const { checkAneCompatibility } = await import('../embed/onnx/ane-check.js');
      const report = await checkAneCompatibility(readFileSync(file));
      if (opts.json) printJson(report);
      else if (report.ok) log(`${file}: passes the ANE check`);
      for (const v of report.violations) log(`${file}: [${v.rule}] ${v.node ? `node ${v.node}` : ''}${v.op ? ` (${v.op})` : ''}: ${v.message}`);
      if (!report.ok) process.exitCode = 1;
    });

  registerServeCommand(program);
  registerMcpCommand(program);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const e: SieveError = toSieveError(err);
    log(`sieve: error [${e.code}] ${e.message}`);
    log(`hint: ${e.hint}`);
    if (e.code === 'INTERNAL' && e.cause instanceof Error && e.cause.stack) log(e.cause.stack);
    return e.exitCode;
  }
}


/**
 * `sieve traces | head` closes the pipe while sieve is still writing: that is the reader being done, not an error
 * (Node would print an unhandled EPIPE stack). Any other stdout failure still surfaces.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exit(0);
    else throw err;
  });
}

if (isEntryPoint(import.meta.url)) {
  exitQuietlyOnClosedPipe(process.stdout);
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
