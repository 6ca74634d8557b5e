// Load benchmark of `sieve serve`: a BEIR corpus in a home with two relevance model versions, the service in a child
// process on 127.0.0.1, and autocannon (in this process) against /healthz (the HTTP layer alone), /v1/search and
// /v1/ask (extractive, no LLM), then /v1/ask again with a model swap half-way through.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { openEngine, type Engine } from '../src/engine.js';
import { readBeirDataset } from '../src/train/beir.js';
import { latencySummary } from '../src/train/metrics.js';
import { activateModel, deactivateModels, listModels } from '../src/train/registry.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServeBenchOptions {
  data: string;
  split: string;
  home?: string;
  duration: number;
  connections: number;
  /** Serving processes (`sieve serve --workers`). */
  workers?: number;
  /** What ranks during the search and ask runs: 'fusion' (no relevance model, as a fresh install serves) or 'relevance'. */
  ranker?: 'fusion' | 'relevance';
  log?: (line: string) => void;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] = state, [1] = ppid, [11..12] = utime, stime. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

let clockTicks: number | undefined;

/** CPU seconds (user + system) a process and its children (the --workers processes) have used, from /proc (Linux); null elsewhere. */
function processCpuSeconds(pid: number): number | null {
  try {
    clockTicks ??= Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
    const pids = [pid];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (Number(statFields(Number(name))[1]) === pid) pids.push(Number(name));
      } catch {
        // exited meanwhile
      }
    }
    let ticks = 0;
    for (const p of pids) {
      const f = statFields(p);
      ticks += Number(f[11]) + Number(f[12]);
    }
    return ticks / clockTicks;
  } catch {
    return null;
  }
}

interface RunSummary {
  route: string;
  connections: number;
  seconds: number;
  requests: number;
  req_per_s: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU the service process spent per request during the run (its whole cost: HTTP, validation, engine). */
  server_cpu_ms_per_request: number | null;
}

function summarise(route: string, connections: number, r: Result, cpuSeconds: number | null): RunSummary {
  const total = r['2xx'] + r.non2xx;
  return {
    route,
    connections,
    seconds: r.duration,
    requests: total,
    req_per_s: Math.round((total / r.duration) * 10) / 10,
    latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    server_cpu_ms_per_request: cpuSeconds === null || total === 0 ? null : Math.round((cpuSeconds * 1000 * 100) / total) / 100,
  };
}

/** Sequential in-process calls: what one engine costs per request without HTTP (the service's floor). */
async function inProcessBaseline(engine: Engine, questions: string[]): Promise<{ search_ms_p50: number; ask_ms_p50: number; search_per_s: number; ask_per_s: number }> {
  for (const q of questions.slice(0, 30)) await engine.ask(q);
  const time = async (fn: (q: string) => Promise<unknown>) => {
    const each: number[] = [];
    const t0 = performance.now();
    for (const q of questions) {
      const t = performance.now();
      await fn(q);
      each.push(performance.now() - t);
    }
    return { p50: latencySummary(each).p50, perS: questions.length / ((performance.now() - t0) / 1000) };
  };
  const search = await time((q) => engine.search(q, { k: 10 }));
  const ask = await time((q) => engine.ask(q));
  const round = (v: number) => Math.round(v * 10) / 10;
  return { search_ms_p50: round(search.p50), ask_ms_p50: round(ask.p50), search_per_s: round(search.perS), ask_per_s: round(ask.perS) };
}

/** Makes sure the home holds the corpus and two relevance versions (trained from the train qrels once, then reused). */
async function prepareHome(o: ServeBenchOptions, home: string, log: (l: string) => void): Promise<{ versions: string[]; baseline: Awaited<ReturnType<typeof inProcessBaseline>> }> {
  const dataset = await readBeirDataset(o.data, o.split);
  const engine = await openEngine({ home, llm: null });
  try {
    const ingest = await engine.ingest([dataset.corpusPath]);
    log(`corpus: ${ingest.documents} documents written, ${ingest.skipped} unchanged`);
    let versions = listModels(engine.store, home, 'relevance');
    if (versions.length < 2) {
      const { trainRelevanceFromQrels } = await import('../src/train/relevance/from-qrels.js');
      for (let seed = versions.length + 1; seed <= 2; seed++) {
        log(`training relevance model ${seed}/2 from ${o.data} train qrels (seed ${seed}) …`);
        const r = await trainRelevanceFromQrels(engine, { data: o.data, split: 'train', seed, activate: seed === 1 });
        log(`  ${r.model.id} in ${r.seconds.toFixed(1)} s`);
      }
      versions = listModels(engine.store, home, 'relevance');
    }
    if ((o.ranker ?? 'relevance') === 'fusion') deactivateModels(engine.store, 'relevance');
    else if (!versions.some((v) => v.active)) activateModel(engine.store, home, versions[0]!.id);
    await engine.reloadModels();
    const ordered = listModels(engine.store, home, 'relevance');
    const baseline = await inProcessBaseline(engine, [...dataset.queries.values()].map((q) => q.text));
    log(`in-process, sequential: search p50 ${baseline.search_ms_p50} ms (${baseline.search_per_s}/s), ask p50 ${baseline.ask_ms_p50} ms (${baseline.ask_per_s}/s)`);
    // The serving one first ('fusion' when none is), the one to swap to second.
    const active = ordered.filter((v) => v.active).map((v) => v.id);
    return { versions: [...(active.length > 0 ? active : ['fusion']), ...ordered.filter((v) => !v.active).map((v) => v.id)].slice(0, 2), baseline };
  } finally {
    engine.close();
  }
}

async function startService(home: string, workers: number, log: (l: string) => void): Promise<{ child: ChildProcess; url: string }> {
  const args = ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'serve', '--port', '0', '--home', home, '--workers', String(workers)];
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    // No LLM: extractive answers; the benchmark measures sieve, not a model server.
    env: { ...process.env, SIEVE_LLM_BASE_URL: '', SIEVE_TOKEN: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start in 60 s: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = (workers > 1 ? /serve: listening on (http:\/\/127\.0\.0\.1:\d+) \(\d+ workers\)/ : /listening on (http:\/\/127\.0\.0\.1:\d+)/).exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`the service exited with ${code}: ${stderr}`)));
  });
  log(`service at ${url} (pid ${child.pid})`);
  return { child, url };
}

function cyclingPost(path: string, bodies: string[]) {
  let i = 0;
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    setupRequest: (req: { body?: string }) => ({ ...req, body: bodies[i++ % bodies.length]! }),
  };
}

export async function benchServe(o: ServeBenchOptions) {
  const log = o.log ?? (() => undefined);
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-serve-'));
  const { versions, baseline } = await prepareHome(o, home, log);
  const [serving, other] = versions;
  const dataset = await readBeirDataset(o.data, o.split);
  const questions = [...dataset.queries.values()].map((q) => q.text);
  const searchBodies = questions.map((q) => JSON.stringify({ query: q, k: 10 }));
  const askBodies = questions.map((q) => JSON.stringify({ question: q }));

  const workers = o.workers ?? 1;
  const { child, url } = await startService(home, workers, log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const run = async (route: string, requests: ReturnType<typeof cyclingPost> | null, seconds: number, during?: () => Promise<void>) => {
      const instance = autocannon({
        url: requests ? url : `${url}${route}`,
        connections: o.connections,
        duration: seconds,
        timeout: 30,
        ...(requests ? { requests: [requests] } : {}),
      });
      const cpu0 = processCpuSeconds(child.pid!);
      const side = during?.();
      const result = await instance;
      await side;
      const cpu1 = processCpuSeconds(child.pid!);
      const s = summarise(route, o.connections, result, cpu0 === null || cpu1 === null ? null : cpu1 - cpu0);
      log(`${route}${during ? ' (model swap mid-run)' : ''}: ${s.req_per_s} req/s, p50 ${s.latency_ms.p50} ms, p99 ${s.latency_ms.p99} ms, non-2xx ${s.non2xx}, errors ${s.errors}, service CPU ${s.server_cpu_ms_per_request} ms/request`);
      return s;
    };
    // Warm-up (JIT, statement caches, ONNX sessions), not reported.
    await run('/v1/ask', cyclingPost('/v1/ask', askBodies), 3);
    const healthz = await run('/healthz', null, Math.min(5, o.duration));
    const search = await run('/v1/search', cyclingPost('/v1/search', searchBodies), o.duration);
    const ask = await run('/v1/ask', cyclingPost('/v1/ask', askBodies), o.duration);
    let swap: { from: string; to: string; status: number; ms: number; body: unknown } | null = null;
    const askDuringSwap = await run('/v1/ask', cyclingPost('/v1/ask', askBodies), o.duration, async () => {
      await new Promise((r) => setTimeout(r, (o.duration * 1000) / 2));
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/models/${other}/activate`, { method: 'POST' });
      swap = { from: serving!, to: other!, status: res.status, ms: Math.round(performance.now() - t0), body: await res.json() };
      log(`swapped ${serving} → ${other}: HTTP ${res.status} in ${swap.ms} ms`);
    });
    // Leave the home serving what it served before (with 'fusion', prepareHome deactivates again on the next run).
    if (serving !== 'fusion') await fetch(`${url}/v1/models/${serving}/activate`, { method: 'POST' });
    return {
      bench: 'serve',
      data: o.data,
      split: o.split,
      home,
      questions: questions.length,
      connections: o.connections,
      workers,
      ranker: o.ranker ?? 'relevance',
      duration_s: o.duration,
      in_process_baseline: baseline,
      healthz,
      search,
      ask,
      ask_during_swap: { ...askDuringSwap, swap },
      targets: {
        search_req_per_s: { target: 400, met: search.req_per_s >= 400 },
        ask_req_per_s: { target: 200, met: ask.req_per_s >= 200 },
        ask_p99_ms: { target: 50, met: ask.latency_ms.p99 <= 50 },
        swap_non2xx: { target: 0, met: askDuringSwap.non2xx === 0 && askDuringSwap.errors === 0 },
      },
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
