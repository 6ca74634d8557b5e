// The page's markup and style. Static apart from the name and version (escaped); all content is filled in by the
// script from the API. System fonts only: the page must work offline, with nothing fetched from elsewhere.

export const PAGE_STYLE = `
:root {
  --fg: #1d232b; --muted: #5f6b78; --line: #dde2e8; --bg: #f6f7f9; --card: #ffffff;
  --accent: #2457c5; --accent-soft: #eaf0fc; --cited: #fff7db; --cited-line: #d9a521;
  --ok: #1f7a3f; --bad: #b42318;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 15px; line-height: 1.5; color: var(--fg); background: var(--bg); }
body { margin: 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.86em; }
header { display: flex; align-items: center; gap: 1rem; padding: 0.7rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.15rem; margin: 0; letter-spacing: 0.02em; }
header .version { color: var(--muted); font-size: 0.85rem; }
header .tagline { color: var(--muted); font-size: 0.9rem; flex: 1; }
#token-form { display: flex; align-items: center; gap: 0.4rem; font-size: 0.85rem; color: var(--muted); }
#token-form input { width: 11rem; }
main { display: grid; grid-template-columns: minmax(0, 1.7fr) minmax(320px, 1fr); gap: 1.25rem; max-width: 1280px; margin: 0 auto; padding: 1.25rem 1.5rem 3rem; }
@media (max-width: 920px) { main { grid-template-columns: minmax(0, 1fr); } }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.1rem; margin-bottom: 1.25rem; }
h2 { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 0 0 0.6rem; font-weight: 600; }
input, textarea, select, button { font: inherit; color: inherit; }
input[type=text], input[type=password], input[type=number], textarea, select { border: 1px solid #c5ccd5; border-radius: 6px; padding: 0.35rem 0.5rem; background: #fff; }
textarea { width: 100%; resize: vertical; min-height: 3.2rem; }
input:focus-visible, textarea:focus-visible, select:focus-visible, button:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.ask-row { display: flex; align-items: center; gap: 0.75rem; margin-top: 0.6rem; font-size: 0.88rem; color: var(--muted); }
.ask-row input { width: 6rem; }
.ask-row input.scope { width: 16rem; }
.ask-row .spacer { flex: 1; }
button { cursor: pointer; border: 1px solid #c5ccd5; background: #fff; border-radius: 6px; padding: 0.3rem 0.75rem; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: 0.55; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; padding: 0.4rem 1.2rem; }
button.link { border: none; background: none; color: var(--accent); padding: 0; font-size: 0.85rem; }
#answer { white-space: pre-wrap; font-size: 1.02rem; margin: 0; min-height: 1.5em; }
#answer.streaming::after { content: "▍"; color: var(--accent); animation: blink 1s steps(2) infinite; }
@keyframes blink { 50% { opacity: 0; } }
a.cite { color: var(--accent); text-decoration: none; font-weight: 600; padding: 0 0.1em; border-radius: 3px; }
a.cite:hover, a.cite:focus { background: var(--accent-soft); }
.meta { color: var(--muted); font-size: 0.82rem; margin-top: 0.6rem; }
#helpful { display: flex; align-items: center; gap: 0.5rem; margin-top: 0.75rem; padding-top: 0.75rem; border-top: 1px solid var(--line); font-size: 0.9rem; }
#helpful[hidden] { display: none; }
.vote { font-size: 0.82rem; padding: 0.15rem 0.6rem; }
.vote[aria-pressed=true].vote-up, .vote[aria-pressed=true].helpful-yes { background: #e7f5ec; border-color: var(--ok); color: var(--ok); }
.vote[aria-pressed=true].vote-down, .vote[aria-pressed=true].helpful-no { background: #fdecea; border-color: var(--bad); color: var(--bad); }
.saved { font-size: 0.8rem; color: var(--muted); }
.saved.ok { color: var(--ok); font-weight: 600; }
.saved.failed { color: var(--bad); }
ol#context { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 0.6rem; }
li.chunk { border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 6px; padding: 0.55rem 0.75rem; transition: background 0.15s, box-shadow 0.15s; scroll-margin: 1rem; }
li.chunk.cited { border-left-color: var(--cited-line); background: var(--cited); }
li.chunk.hover { box-shadow: 0 0 0 2px var(--accent); }
li.chunk.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { box-shadow: 0 0 0 3px var(--accent); } to { box-shadow: 0 0 0 0 transparent; } }
.chunk-head { display: flex; align-items: baseline; gap: 0.5rem; flex-wrap: wrap; }
.chunk-head .n { display: inline-block; min-width: 1.6rem; text-align: center; font-weight: 700; font-size: 0.8rem; color: #fff; background: #7b8794; border-radius: 4px; padding: 0 0.3rem; }
li.chunk.cited .chunk-head .n { background: var(--cited-line); }
.chunk-head .where { font-weight: 600; }
.tag { font-size: 0.7rem; text-transform: uppercase; letter-spacing: 0.05em; border-radius: 999px; padding: 0.05rem 0.5rem; border: 1px solid currentColor; }
.tag-cited { color: #8a6100; }
.tag-explored { color: #6b4fa3; }
.tag-active { color: var(--ok); margin-left: 0.4rem; }
.source { color: var(--muted); font-size: 0.8rem; overflow-wrap: anywhere; }
.chunk-text { white-space: pre-wrap; margin: 0.4rem 0; font-size: 0.9rem; overflow-wrap: anywhere; }
.chunk-text.clamped { display: -webkit-box; -webkit-line-clamp: 5; -webkit-box-orient: vertical; overflow: hidden; }
.actions { display: flex; align-items: center; gap: 0.4rem; }
.actions .more { margin-left: auto; }
.error { border: 1px solid #f3b8b2; background: #fdf1f0; color: var(--bad); border-radius: 6px; padding: 0.5rem 0.75rem; margin-top: 0.75rem; font-size: 0.9rem; }
.error .hint { color: var(--fg); margin-top: 0.2rem; }
.muted { color: var(--muted); font-size: 0.85em; }
.empty { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; }
.models-head { display: flex; align-items: center; justify-content: space-between; gap: 0.5rem; }
#active-models { font-size: 0.85rem; margin-bottom: 0.5rem; }
table { width: 100%; border-collapse: collapse; font-size: 0.82rem; }
th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: 0.3rem 0.4rem; }
td { vertical-align: top; border-bottom: 1px solid var(--line); padding: 0.4rem; }
tr.active td { background: #f1f8f3; }
.nowrap { white-space: nowrap; }
.model-id { overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
dl.metrics { display: grid; grid-template-columns: auto auto; gap: 0 0.6rem; margin: 0; }
dl.metrics dt { color: var(--muted); }
dl.metrics dd { margin: 0; font-variant-numeric: tabular-nums; text-align: right; }
#curve svg { width: 100%; height: auto; display: block; }
#curve .tick { font-size: 11px; fill: var(--muted); }
#curve .axis-label { font-size: 11px; fill: var(--muted); }
#curve-note { color: var(--muted); font-size: 0.78rem; margin: 0.4rem 0 0; }
.curve-head { display: flex; align-items: center; justify-content: space-between; gap: 0.5rem; }
.curve-head select { font-size: 0.8rem; padding: 0.1rem 0.3rem; }
.curve-head select[hidden] { display: none; }
footer { text-align: center; color: var(--muted); font-size: 0.8rem; padding: 0 1.5rem 2rem; }
footer a { color: var(--accent); }
`;

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function pageHtml(opts: { name: string; version: string; script: string; style: string }): string {
  const name = escapeHtml(opts.name);
  const version = escapeHtml(opts.version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name}</title>
<link rel="icon" href="data:,">
<style>${opts.style}</style>
</head>
<body>
<header>
  <h1>${name}</h1>
  <span class="version">${version}</span>
  <span class="tagline">local retrieval context engine: ask, see the cited context, say what helped</span>
  <form id="token-form" autocomplete="off">
    <label for="token">API token</label>
    <input id="token" type="password" placeholder="only if the service needs one">
    <button type="submit">Use</button>
    <span id="token-state"></span>
  </form>
</header>
<main>
  <div>
    <section class="card">
      <h2><label for="question">Ask</label></h2>
      <form id="ask-form">
        <textarea id="question" name="question" rows="2" placeholder="Ask a question about the indexed documents"></textarea>
        <div class="ask-row">
          <label for="budget">context budget</label>
          <input id="budget" type="number" min="16" step="1" placeholder="default"> <span>tokens</span>
          <label for="scope">only in</label>
          <input id="scope" class="scope" type="text" placeholder="all documents" title="Ingested files or folders, separated by commas">
          <span class="spacer"></span>
          <span>Ctrl+Enter</span>
          <button id="ask-button" class="primary" type="submit">Ask</button>
        </div>
      </form>
      <div id="ask-error"></div>
    </section>
    <section class="card" id="answer-section" hidden>
      <h2>Answer</h2>
      <p id="answer" aria-live="polite"></p>
      <div class="meta" id="answer-meta"></div>
      <div id="helpful" hidden></div>
    </section>
    <section class="card" id="context-section" hidden>
      <h2 id="context-title">Context</h2>
      <ol id="context"></ol>
    </section>
  </div>
  <aside>
    <section class="card">
      <div class="models-head"><h2>Model versions</h2><button id="models-refresh" type="button" class="link">refresh</button></div>
      <div id="active-models"></div>
      <p id="models-empty" class="empty" hidden>No model versions registered: ranking uses fused retriever scores. <code>sieve train</code> trains one once there are enough answered asks.</p>
      <div class="table-wrap">
      <table id="models-table" hidden>
        <thead><tr><th>version</th><th>kind</th><th>created</th><th>metrics</th></tr></thead>
        <tbody id="models"></tbody>
      </table>
      </div>
      <div id="models-error"></div>
    </section>
    <section class="card">
      <div class="curve-head"><h2>Learning curve</h2><select id="curve-metric" aria-label="metric" hidden></select></div>
      <div id="curve"></div>
      <p id="curve-note"></p>
    </section>
  </aside>
</main>
<footer>API: <a href="/openapi.json">/openapi.json</a> · health: <a href="/healthz">/healthz</a></footer>
<script type="module">${opts.script}</script>
</body>
</html>
`;
}
