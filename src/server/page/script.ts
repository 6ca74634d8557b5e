// The page's browser code: plain JavaScript (no build step, no dependencies, nothing fetched from elsewhere), kept
// as a string so it is served the same from src/ and dist/. Every piece of text from the service or the documents
// reaches the DOM through textContent / append / setAttribute: never through innerHTML.
import { CURVE_SCRIPT } from './curve.js';

const APP_SCRIPT = String.raw`
const SVG_NS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

/** An element with attributes, listeners (on*) and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

function svgNode(node) {
  const e = document.createElementNS(SVG_NS, node.tag);
  for (const [k, v] of Object.entries(node.attrs)) e.setAttribute(k, String(v));
  if (node.text !== undefined) e.textContent = node.text;
  for (const c of node.children ?? []) e.append(svgNode(c));
  return e;
}

// ---- the token: ?token=… once (then removed from the address bar), or typed in; kept for this tab only ----
const params = new URLSearchParams(location.search);
let token = params.get('token') ?? sessionStorage.getItem('sieve.token') ?? '';
if (params.has('token')) {
  sessionStorage.setItem('sieve.token', token);
  params.delete('token');
  history.replaceState(null, '', location.pathname + (params.toString() ? '?' + params : '') + location.hash);
}
$('token').value = token;
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token').value.trim();
  if (token) sessionStorage.setItem('sieve.token', token);
  else sessionStorage.removeItem('sieve.token');
  $('token-state').textContent = token ? 'token set' : 'no token';
  loadModels();
});
$('token-state').textContent = token ? 'token set' : 'no token';

class ApiError extends Error {
  constructor(payload, status) {
    super(payload.message);
    this.code = payload.code;
    this.hint = payload.hint;
    this.status = status;
  }
}

function headers(extra) {
  return { ...(token ? { authorization: 'Bearer ' + token } : {}), ...extra };
}

async function failure(res) {
  let payload = { code: 'HTTP_' + res.status, message: res.status + ' ' + res.statusText, hint: '' };
  try {
    const body = await res.json();
    if (body && body.error) payload = body.error;
  } catch {}
  if (res.status === 401 && !payload.hint) payload.hint = 'Enter the service token above.';
  return new ApiError(payload, res.status);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** Server-sent events of a fetch response, as { event, data } with data parsed as JSON. */
async function* sseEvents(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r/g, '');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch {
        parsed = data.join('\n');
      }
      yield { event, data: parsed };
    }
  }
}

function showError(target, err) {
  target.replaceChildren(
    el('div', { class: 'error', role: 'alert' },
      el('strong', {}, err.code ? '[' + err.code + '] ' : ''),
      err.message ?? String(err),
      err.hint ? el('div', { class: 'hint' }, err.hint) : null,
    ),
  );
  if (err.status === 401) $('token').focus();
}

function formatNumber(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4);
}

function where(c) {
  const pages = !c.pages ? '' : c.pages.first === c.pages.last ? ', p. ' + c.pages.first : ', pp. ' + c.pages.first + '–' + c.pages.last;
  const headings = (c.headingPath ?? []).filter(Boolean);
  // A Markdown file titled by its first heading (compared as src/util/pages.ts does).
  const same = (a, b) => String(a).replace(/\s+/g, ' ').trim().toLowerCase() === String(b).replace(/\s+/g, ' ').trim().toLowerCase();
  if (headings.length > 0 && same(headings[0], c.title)) headings.shift();
  return [c.title, ...headings].filter(Boolean).join(' › ') + pages;
}

// ---- asking ----
let current = null; // { traceId, controller }

const CITE = /\[(\d+(?:\s*[,;]\s*\d+)*)\]/g;

/** The answer text with its [n] markers turned into links to their context items (markers to nothing stay text). */
function answerNodes(text, numbers) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(CITE)) {
    const ns = m[1].split(/[,;]/).map((s) => Number(s.trim()));
    if (!ns.every((n) => numbers.has(n))) continue;
    out.push(text.slice(last, m.index));
    out.push('[');
    ns.forEach((n, i) => {
      if (i > 0) out.push(', ');
      out.push(
        el('a', {
          class: 'cite',
          href: '#ctx-' + n,
          'data-n': n,
          onmouseenter: () => highlight(n, true),
          onmouseleave: () => highlight(n, false),
          onfocus: () => highlight(n, true),
          onblur: () => highlight(n, false),
          onclick: (ev) => {
            ev.preventDefault();
            const item = $('ctx-' + n);
            item.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
            item.classList.remove('flash');
            void item.offsetWidth;
            item.classList.add('flash');
          },
        }, String(n)),
      );
    });
    out.push(']');
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

function highlight(n, on) {
  $('ctx-' + n)?.classList.toggle('hover', on);
}

async function sendFeedback(body, status, buttons, pressed) {
  status.textContent = 'saving…';
  status.className = 'saved pending';
  for (const b of buttons) b.disabled = true;
  try {
    await api('POST', '/v1/feedback', { traceId: current.traceId, ...body });
    for (const b of buttons) b.setAttribute('aria-pressed', String(b === pressed));
    status.textContent = 'saved';
    status.className = 'saved ok';
  } catch (err) {
    status.textContent = (err.code ? '[' + err.code + '] ' : '') + err.message;
    status.className = 'saved failed';
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

function contextItem(c, cited) {
  const status = el('span', { class: 'saved', role: 'status', 'aria-live': 'polite' });
  const up = el('button', { type: 'button', class: 'vote vote-up', 'aria-pressed': 'false', 'aria-label': 'Up: [' + c.n + '] was useful', title: 'This was useful' }, '▲ up');
  const down = el('button', { type: 'button', class: 'vote vote-down', 'aria-pressed': 'false', 'aria-label': 'Down: [' + c.n + '] was not useful', title: 'This was not useful' }, '▼ down');
  up.addEventListener('click', () => sendFeedback({ chunks: { [c.n]: 'up' } }, status, [up, down], up));
  down.addEventListener('click', () => sendFeedback({ chunks: { [c.n]: 'down' } }, status, [up, down], down));
  const text = el('p', { class: 'chunk-text clamped' }, c.text);
  const more = el('button', { type: 'button', class: 'link more' }, 'show all');
  more.addEventListener('click', () => {
    const clamped = text.classList.toggle('clamped');
    more.textContent = clamped ? 'show all' : 'show less';
  });
  return el('li', { id: 'ctx-' + c.n, class: 'chunk' + (cited ? ' cited' : ''), 'data-n': c.n },
    el('div', { class: 'chunk-head' },
      el('span', { class: 'n' }, String(c.n)),
      el('span', { class: 'where' }, where(c) || c.docId),
      cited ? el('span', { class: 'tag tag-cited' }, 'cited') : null,
      c.explored ? el('span', { class: 'tag tag-explored', title: 'Shown to learn about a lower-ranked chunk, not on merit' }, 'explored') : null,
    ),
    el('div', { class: 'source' }, el('code', {}, c.source), ' · score ' + formatNumber(c.score) + ' · ' + c.tokenCount + ' tokens'),
    text,
    el('div', { class: 'actions' }, up, down, status, c.text.length > 300 || c.text.split('\n').length > 5 ? more : null),
  );
}

function renderResult(r) {
  const numbers = new Set(r.context.map((c) => c.n));
  const cited = new Set(r.citations.map((c) => c.n));
  $('answer').replaceChildren(...answerNodes(r.answer, numbers));
  $('answer').classList.remove('streaming');
  const t = r.timings ?? {};
  $('answer-meta').replaceChildren(
    'answered by ' + r.answeredBy + (r.models?.answerer ? ' (' + r.models.answerer + ')' : '') +
      ' · ranker ' + (r.models?.ranker ?? '?') +
      (typeof t.totalMs === 'number' ? ' · ' + t.totalMs.toFixed(0) + ' ms' : '') + ' · trace ',
    el('code', {}, r.traceId),
  );
  const yes = el('button', { type: 'button', class: 'vote helpful-yes', 'aria-pressed': 'false' }, 'Yes');
  const no = el('button', { type: 'button', class: 'vote helpful-no', 'aria-pressed': 'false' }, 'No');
  const status = el('span', { class: 'saved', role: 'status', 'aria-live': 'polite' });
  yes.addEventListener('click', () => sendFeedback({ helpful: true }, status, [yes, no], yes));
  no.addEventListener('click', () => sendFeedback({ helpful: false }, status, [yes, no], no));
  $('helpful').replaceChildren(el('span', {}, 'Was this answer helpful?'), yes, no, status);
  $('helpful').hidden = false;
  $('context-title').textContent = 'Context (' + r.context.length + ' items, ' + cited.size + ' cited)';
  $('context').replaceChildren(...r.context.map((c) => contextItem(c, cited.has(c.n))));
  $('context-section').hidden = false;
}

async function ask(question, budgetTokens, sources) {
  current?.controller.abort();
  const controller = new AbortController();
  current = { traceId: null, controller };
  const answer = $('answer');
  answer.replaceChildren();
  answer.classList.add('streaming');
  $('answer-section').hidden = false;
  $('answer-meta').textContent = 'retrieving and answering…';
  $('helpful').hidden = true;
  $('context-section').hidden = true;
  $('ask-error').replaceChildren();
  $('ask-button').disabled = true;
  try {
    const res = await fetch('/v1/ask', {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json', accept: 'text/event-stream' }),
      body: JSON.stringify({ question, stream: true, ...(budgetTokens ? { budgetTokens } : {}), ...(sources.length > 0 ? { scope: { sources } } : {}) }),
      signal: controller.signal,
    });
    if (!res.ok) throw await failure(res);
    let finished = false;
    for await (const { event, data } of sseEvents(res)) {
      if (event === 'token') answer.append(data.text);
      else if (event === 'result') {
        current.traceId = data.traceId;
        renderResult(data);
        finished = true;
      } else if (event === 'error') throw new ApiError(data, 200);
    }
    if (!finished) throw new ApiError({ code: 'STREAM_ENDED', message: 'the answer stream ended before its result', hint: 'Ask again; check the service log if it repeats.' }, 0);
  } catch (err) {
    if (controller.signal.aborted) return;
    answer.classList.remove('streaming');
    $('answer-meta').textContent = '';
    if (!answer.textContent) $('answer-section').hidden = true;
    showError($('ask-error'), err);
  } finally {
    if (current?.controller === controller) $('ask-button').disabled = false;
  }
}

$('ask-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const question = $('question').value.trim();
  if (!question) return $('question').focus();
  const budget = Number($('budget').value);
  const sources = $('scope').value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  ask(question, Number.isInteger(budget) && budget > 0 ? budget : undefined, sources);
});
$('question').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.metaKey || ev.ctrlKey)) $('ask-form').requestSubmit();
});

// ---- model versions and the learning curve ----
let modelList = [];
let curveMetric = null;

function modelRow(m) {
  const created = m.createdAt ?? m.created;
  const metrics = Object.entries(m.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return el('tr', { class: m.active ? 'active' : '' },
    el('td', {}, el('code', { class: 'model-id' }, m.id), m.active ? el('span', { class: 'tag tag-active' }, 'serving') : null,
      m.parent ? el('div', { class: 'muted' }, 'from ', el('code', {}, m.parent)) : null),
    el('td', {}, m.kind),
    el('td', { class: 'nowrap' }, created && Number.isFinite(Date.parse(created)) ? curveDate(Date.parse(created)) : '?'),
    el('td', {}, metrics.length === 0 ? el('span', { class: 'muted' }, 'none') :
      el('dl', { class: 'metrics' }, ...metrics.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, formatNumber(v))]))),
  );
}

function renderCurve() {
  const scene = learningCurve(modelList, { metric: curveMetric ?? undefined, width: 560, height: 240 });
  const picker = $('curve-metric');
  picker.replaceChildren(...scene.metrics.map((k) => el('option', { value: k, selected: k === scene.metric }, k)));
  picker.hidden = scene.metrics.length < 2;
  if (scene.empty) {
    $('curve').replaceChildren(el('p', { class: 'empty' }, scene.empty));
    $('curve-note').textContent = '';
    return;
  }
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + scene.width + ' ' + scene.height);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Learning curve: ' + scene.metric + ' of ' + scene.points.length + ' relevance-model versions over time');
  for (const node of scene.nodes) svg.append(svgNode(node));
  $('curve').replaceChildren(svg);
  $('curve-note').textContent =
    'One point per relevance-model version (filled: serving), at its creation time; y = ' + scene.metric + '.' +
    (scene.metric === 'candidateNdcg10'
      ? ' Hollow grey points: the model it replaced, scored on the same held-out asks. Each version is scored on the asks newest when it was trained, so points are not on one fixed test set.'
      : ' Each version reports this on its own validation data.');
}

async function loadModels() {
  $('models-error').replaceChildren();
  try {
    const body = await api('GET', '/v1/models');
    modelList = body.models ?? [];
    const active = body.active ?? {};
    $('active-models').replaceChildren(
      ...['serving: ranker ', el('code', {}, active.ranker ?? '?'), active.embedder ? el('span', {}, ' · embedder ', el('code', {}, active.embedder)) : null].filter(Boolean),
    );
    $('models').replaceChildren(...modelList.map(modelRow));
    $('models-table').hidden = modelList.length === 0;
    $('models-empty').hidden = modelList.length > 0;
    renderCurve();
  } catch (err) {
    showError($('models-error'), err);
  }
}

$('curve-metric').addEventListener('change', (ev) => {
  curveMetric = ev.target.value;
  renderCurve();
});
$('models-refresh').addEventListener('click', () => loadModels());
loadModels();
$('question').focus();
`;

/** The whole inline script of the page: the curve functions, then the app that uses them. */
export const PAGE_SCRIPT = `${CURVE_SCRIPT}\n${APP_SCRIPT}`;
