// The learning curve as the page draws it: pure browser JavaScript kept as a string, so the page serves it inline
// from src/ and from dist/ alike, and tests evaluate the very same code (see curveFunctions()).
// learningCurve() turns /v1/models versions into a scene: plain { tag, attrs, text, children } nodes that the page
// renders with createElementNS/setAttribute/textContent — no markup strings, so no text can become HTML.

/** One SVG element of the scene. */
export interface CurveNode {
  tag: string;
  attrs: Record<string, string | number>;
  text?: string;
  children?: CurveNode[];
}

export interface CurvePoint {
  id: string;
  time: number;
  value: number;
  active: boolean;
  x: number;
  y: number;
}

export interface CurveScene {
  /** The metric plotted (null when no relevance version has a quality metric). */
  metric: string | null;
  /** Quality metrics some relevance version has, most telling first: the page offers them in a picker. */
  metrics: string[];
  points: CurvePoint[];
  /** Why there is no curve (fewer than two versions with the metric), or null when there is one. */
  empty: string | null;
  width: number;
  height: number;
  nodes: CurveNode[];
}

export interface CurveModel {
  id: string;
  kind: string;
  createdAt?: string;
  created?: string;
  active?: boolean;
  metrics?: Record<string, unknown>;
}

export const CURVE_SCRIPT = String.raw`
// Quality metrics in the order the curve prefers them. candidateNdcg10 is what the training job's gate measured
// (nDCG@10 on the newest held-out asks); valNdcg10 is the validation split every trainer reports.
const CURVE_PREFERRED = ['candidateNdcg10', 'valNdcg10', 'ndcg@10', 'heldOutRecallAt10'];
const CURVE_QUALITY = /ndcg|recall|mrr|precision|accuracy|map@/i;

function curveTime(m) {
  const t = Date.parse(m.createdAt ?? m.created ?? '');
  return Number.isFinite(t) ? t : NaN;
}

function curveMetricNames(models) {
  const names = new Set();
  for (const m of models) {
    for (const [k, v] of Object.entries(m.metrics ?? {})) {
      if (typeof v === 'number' && Number.isFinite(v) && CURVE_QUALITY.test(k) && !/serving/i.test(k)) names.add(k);
    }
  }
  const preferred = CURVE_PREFERRED.filter((k) => names.has(k));
  const rest = [...names].filter((k) => !CURVE_PREFERRED.includes(k)).sort();
  return [...preferred, ...rest];
}

function curveFormat(v) {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toFixed(3);
}

function curveDate(t) {
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
}

/** Evenly spaced round tick values covering [lo, hi]. */
function curveTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

/**
 * The learning curve of the relevance model: one point per registered relevance version that has the metric,
 * at its creation time. Embedder versions and versions without the metric are left out, not invented.
 */
function learningCurve(models, opts = {}) {
  const width = opts.width ?? 560;
  const height = opts.height ?? 240;
  const relevance = models
    .filter((m) => m.kind === 'relevance' && Number.isFinite(curveTime(m)))
    .sort((a, b) => curveTime(a) - curveTime(b));
  const metrics = curveMetricNames(relevance);
  const metric = opts.metric && metrics.includes(opts.metric) ? opts.metric : metrics[0] ?? null;
  const scene = { metric, metrics, points: [], empty: null, width, height, nodes: [] };
  const withMetric = metric === null ? [] : relevance.filter((m) => typeof m.metrics?.[metric] === 'number' && Number.isFinite(m.metrics[metric]));
  if (withMetric.length < 2) {
    scene.empty =
      relevance.length === 0
        ? 'No relevance-model versions yet: ranking uses fused retriever scores. The curve starts once training has produced two versions.'
        : withMetric.length === 1
          ? 'Only one relevance-model version has ' + metric + ' so far: a curve needs two.'
          : 'No relevance-model version reports a quality metric yet.';
    return scene;
  }

  const pad = { left: 48, right: 16, top: 14, bottom: 40 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const serving = metric === 'candidateNdcg10';
  const values = withMetric.map((m) => m.metrics[metric]);
  if (serving) for (const m of withMetric) if (typeof m.metrics.servingNdcg10 === 'number') values.push(m.metrics.servingNdcg10);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const unit = lo >= 0 && hi <= 1;
  const margin = (hi - lo) * 0.15 || Math.max(Math.abs(hi) * 0.1, 0.01);
  lo -= margin;
  hi += margin;
  if (unit) {
    lo = Math.max(0, lo);
    hi = Math.min(1, hi);
  }
  const t0 = curveTime(withMetric[0]);
  const t1 = curveTime(withMetric[withMetric.length - 1]);
  const xOf = (t, i) => pad.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * plotW : (i / (withMetric.length - 1)) * plotW);
  const yOf = (v) => pad.top + (1 - (v - lo) / (hi - lo)) * plotH;
  const r2 = (v) => Math.round(v * 100) / 100;

  scene.points = withMetric.map((m, i) => ({
    id: m.id,
    time: curveTime(m),
    value: m.metrics[metric],
    active: m.active === true,
    x: r2(xOf(curveTime(m), i)),
    y: r2(yOf(m.metrics[metric])),
  }));

  const nodes = scene.nodes;
  const axis = { stroke: '#9aa3ad', 'stroke-width': 1 };
  for (const v of curveTicks(lo, hi, 4)) {
    const y = r2(yOf(v));
    nodes.push({ tag: 'line', attrs: { x1: pad.left, x2: width - pad.right, y1: y, y2: y, stroke: '#e6e9ee', 'stroke-width': 1 } });
    nodes.push({ tag: 'text', attrs: { x: pad.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick' }, text: curveFormat(v) });
  }
  nodes.push({ tag: 'line', attrs: { x1: pad.left, x2: pad.left, y1: pad.top, y2: pad.top + plotH, ...axis } });
  nodes.push({ tag: 'line', attrs: { x1: pad.left, x2: width - pad.right, y1: pad.top + plotH, y2: pad.top + plotH, ...axis } });
  const first = scene.points[0];
  const last = scene.points[scene.points.length - 1];
  nodes.push({ tag: 'text', attrs: { x: first.x, y: height - 22, 'text-anchor': 'start', class: 'tick' }, text: curveDate(first.time) });
  if (last.x - first.x > 120) nodes.push({ tag: 'text', attrs: { x: last.x, y: height - 22, 'text-anchor': 'end', class: 'tick' }, text: curveDate(last.time) });
  nodes.push({ tag: 'text', attrs: { x: pad.left + plotW / 2, y: height - 5, 'text-anchor': 'middle', class: 'axis-label' }, text: 'version created' });

  if (serving) {
    // What the gate compared against: the serving model's score on the same held-out asks.
    withMetric.forEach((m, i) => {
      const s = m.metrics.servingNdcg10;
      if (typeof s !== 'number' || !Number.isFinite(s)) return;
      const p = scene.points[i];
      const y = r2(yOf(s));
      nodes.push({ tag: 'line', attrs: { x1: p.x, x2: p.x, y1: y, y2: p.y, stroke: '#c4cad3', 'stroke-width': 1, 'stroke-dasharray': '3 3' } });
      nodes.push({
        tag: 'circle',
        attrs: { cx: p.x, cy: y, r: 3.5, fill: '#ffffff', stroke: '#9aa3ad', 'stroke-width': 1.5, class: 'serving' },
        children: [{ tag: 'title', attrs: {}, text: 'serving model before ' + m.id + ': ' + curveFormat(s) }],
      });
    });
  }
  nodes.push({
    tag: 'polyline',
    attrs: { points: scene.points.map((p) => p.x + ',' + p.y).join(' '), fill: 'none', stroke: '#2457c5', 'stroke-width': 2, 'stroke-linejoin': 'round' },
  });
  for (const p of scene.points) {
    nodes.push({
      tag: 'circle',
      attrs: { cx: p.x, cy: p.y, r: p.active ? 5.5 : 4, fill: p.active ? '#2457c5' : '#ffffff', stroke: '#2457c5', 'stroke-width': 2, class: p.active ? 'point active' : 'point' },
      children: [{ tag: 'title', attrs: {}, text: p.id + (p.active ? ' (serving)' : '') + ': ' + metric + ' ' + curveFormat(p.value) + ', ' + curveDate(p.time) }],
    });
  }
  return scene;
}
`;

/** The curve functions as real functions (for tests and server-side use): evaluates CURVE_SCRIPT once. */
export function curveFunctions(): { learningCurve: (models: CurveModel[], opts?: { metric?: string; width?: number; height?: number }) => CurveScene } {
  const make = new Function(`${CURVE_SCRIPT}\nreturn { learningCurve };`) as () => {
    learningCurve: (models: CurveModel[], opts?: { metric?: string; width?: number; height?: number }) => CurveScene;
  };
  return make();
}
