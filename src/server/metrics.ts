// Prometheus text exposition (format 0.0.4), written by hand: a counter and a histogram keyed by labels are all
// the service needs, and no metrics package is installed. Recording is a map lookup and a few additions, so it
// costs nothing next to an ask.

/** Upper bounds in seconds: fine where asks live (a few ms to tens of ms), coarse for LLM-backed answers. */
export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export type Labels = Record<string, string>;

/** Escapes a label value: backslash, double quote and newline (the exposition format's rules). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Numbers as Prometheus reads them (+Inf, -Inf, NaN spelled its way). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

const labelKey = (labels: Labels): string => formatLabels(labels);

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = labelKey(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: Labels): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Plain data (crosses a process boundary when several workers serve). */
  state(): Array<{ labels: Labels; value: number }> {
    return [...this.values.values()].map((v) => ({ labels: v.labels, value: v.value }));
  }

  /** Adds another process's counts to these. */
  add(state: ReadonlyArray<{ labels: Labels; value: number }>): void {
    for (const s of state) this.inc(s.labels, s.value);
  }

  expose(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`);
    return lines;
  }
}

export interface HistogramSeries {
  labels: Labels;
  /** Per bucket (not cumulative); summed when exposed. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS_S,
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }

  state(): HistogramSeries[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, counts: [...s.counts], sum: s.sum, count: s.count }));
  }

  /** Adds another process's observations (same buckets) to these. */
  add(state: readonly HistogramSeries[]): void {
    for (const other of state) {
      const key = labelKey(other.labels);
      let s = this.series.get(key);
      if (!s) {
        s = { labels: other.labels, counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
        this.series.set(key, s);
      }
      other.counts.forEach((c, i) => (s.counts[i]! += c));
      s.sum += other.sum;
      s.count += other.count;
    }
  }

  expose(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        lines.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: formatValue(b) })} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${formatLabels({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
      lines.push(`${this.name}_count${formatLabels(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** A gauge whose samples are read when scraped (index size, active versions). */
export function gaugeLines(name: string, help: string, samples: Array<{ labels: Labels; value: number }>): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map((s) => `${name}${formatLabels(s.labels)} ${formatValue(s.value)}`)];
}

/** What the scheduler (or a training request) last reported. */
export interface TrainingRecord {
  status: string;
  at: Date;
  modelId: string | null;
}

/** One process's metrics as plain data. */
export interface MetricsState {
  requests: Array<{ labels: Labels; value: number }>;
  latency: HistogramSeries[];
  lastTraining: { status: string; at: number; modelId: string | null } | null;
  startedAt: number;
}

export interface ServiceSnapshot {
  activeModels: Record<string, string>;
  documents: number;
  chunks: number;
  traces: number;
}

/** The service's series. */
export class ServiceMetrics {
  readonly requests = new Counter('sieve_http_requests_total', 'HTTP requests served, by method, route and status.');
  readonly latency = new Histogram('sieve_http_request_duration_seconds', 'Time from request to the end of the response, by method, route and status.');
  lastTraining: TrainingRecord | null = null;

  constructor(readonly startedAt = Date.now()) {}

  /** One finished request. `route` is the route pattern (never the raw URL: cardinality stays bounded). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  recordTraining(status: string, modelId: string | null, at = new Date()): void {
    this.lastTraining = { status, at, modelId };
  }

  state(): MetricsState {
    const t = this.lastTraining;
    return {
      requests: this.requests.state(),
      latency: this.latency.state(),
      lastTraining: t ? { status: t.status, at: t.at.getTime(), modelId: t.modelId } : null,
      startedAt: this.startedAt,
    };
  }

  /** The sum of several processes' metrics (counters and histograms added, the newest training outcome kept). */
  static merged(states: readonly MetricsState[]): ServiceMetrics {
    const m = new ServiceMetrics(Math.min(Date.now(), ...states.map((s) => s.startedAt)));
    for (const s of states) {
      m.requests.add(s.requests);
      m.latency.add(s.latency);
      if (s.lastTraining && (!m.lastTraining || s.lastTraining.at > m.lastTraining.at.getTime())) {
        m.recordTraining(s.lastTraining.status, s.lastTraining.modelId, new Date(s.lastTraining.at));
      }
    }
    return m;
  }

  expose(snapshot: ServiceSnapshot): string {
    const lines = [
      ...this.requests.expose(),
      ...this.latency.expose(),
      ...gaugeLines(
        'sieve_model_active',
        'The model versions serving now (1 per kind; the version is a label).',
        Object.entries(snapshot.activeModels).map(([kind, version]) => ({ labels: { kind, version }, value: 1 })),
      ),
      ...gaugeLines('sieve_index_documents', 'Documents in the index.', [{ labels: {}, value: snapshot.documents }]),
      ...gaugeLines('sieve_index_chunks', 'Chunks in the index.', [{ labels: {}, value: snapshot.chunks }]),
      ...gaugeLines('sieve_traces', 'Ask traces stored (the training signal).', [{ labels: {}, value: snapshot.traces }]),
      ...gaugeLines('sieve_uptime_seconds', 'Seconds since the service started.', [{ labels: {}, value: (Date.now() - this.startedAt) / 1000 }]),
    ];
    const t = this.lastTraining;
    lines.push(
      ...gaugeLines(
        'sieve_last_training_timestamp_seconds',
        'When the last training run ended (Unix seconds), with its outcome as a label; absent until one ran.',
        t ? [{ labels: { status: t.status, model: t.modelId ?? '' }, value: Math.round(t.at.getTime() / 1000) }] : [],
      ),
    );
    return `${lines.join('\n')}\n`;
  }
}
