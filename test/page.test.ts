import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildPage, registerPage } from '../src/server/page.js';
import { curveFunctions, type CurveModel, type CurveNode } from '../src/server/page/curve.js';
import { PAGE_STYLE } from '../src/server/page/html.js';
import { PAGE_SCRIPT } from '../src/server/page/script.js';

const { learningCurve } = curveFunctions();

const relevance = (id: string, createdAt: string, metrics: Record<string, number>, active = false): CurveModel => ({
  id,
  kind: 'relevance',
  createdAt,
  active,
  metrics,
});

function allNodes(nodes: CurveNode[]): CurveNode[] {
  return nodes.flatMap((n) => [n, ...allNodes(n.children ?? [])]);
}

describe('learning curve (the browser code, evaluated as is)', () => {
  it('has an empty state with no versions, only embedders, or a single relevance version', () => {
    expect(learningCurve([]).empty).toMatch(/No relevance-model versions yet/);
    expect(learningCurve([{ id: 'e1', kind: 'embedder', createdAt: '2026-11-01T00:00:00Z', metrics: { heldOutRecallAt10: 0.5 } }]).empty).toMatch(
      /No relevance-model versions yet/,
    );
    const one = learningCurve([relevance('r1', '2026-11-01T00:00:00Z', { valNdcg10: 0.61 }, true)]);
    expect(one.empty).toMatch(/Only one relevance-model version has valNdcg10/);
    expect(one.nodes).toEqual([]);
    expect(learningCurve([relevance('r1', '2026-11-01T00:00:00Z', { trainLoss: 0.3 }), relevance('r2', '2026-11-02T00:00:00Z', { trainLoss: 0.2 })]).empty).toMatch(
      /No relevance-model version reports a quality metric/,
    );
  });

  it('plots one point per relevance version in creation order: later to the right, better higher', () => {
    const models = [
      relevance('r3', '2026-11-03T00:00:00Z', { valNdcg10: 0.7, candidateNdcg10: 0.66, servingNdcg10: 0.6 }, true),
      relevance('r1', '2026-11-01T00:00:00Z', { valNdcg10: 0.5 }),
      { id: 'e1', kind: 'embedder', createdAt: '2026-11-02T00:00:00Z', metrics: { heldOutRecallAt10: 0.9 } },
      relevance('r2', '2026-11-02T00:00:00Z', { valNdcg10: 0.6, candidateNdcg10: 0.6, servingNdcg10: 0.5 }),
    ];
    const scene = learningCurve(models, { width: 500, height: 200 });
    // candidateNdcg10 (what the gate measured) is preferred, but r1 lacks it: only versions with the metric are drawn.
    expect(scene.metric).toBe('candidateNdcg10');
    expect(scene.metrics).toEqual(['candidateNdcg10', 'valNdcg10']);
    expect(scene.empty).toBeNull();
    expect(scene.points.map((p) => p.id)).toEqual(['r2', 'r3']);

    const byVal = learningCurve(models, { metric: 'valNdcg10', width: 500, height: 200 });
    expect(byVal.points.map((p) => [p.id, p.value, p.active])).toEqual([
      ['r1', 0.5, false],
      ['r2', 0.6, false],
      ['r3', 0.7, true],
    ]);
    const [a, b, c] = byVal.points;
    expect(a!.x).toBeLessThan(b!.x);
    expect(b!.x).toBeLessThan(c!.x);
    // Equal time steps are equal distances; SVG y grows downwards, so a better score is a smaller y.
    expect(Math.abs(b!.x - a!.x - (c!.x - b!.x))).toBeLessThan(0.02);
    expect(a!.y).toBeGreaterThan(b!.y);
    expect(b!.y).toBeGreaterThan(c!.y);
    for (const p of byVal.points) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(500);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeLessThanOrEqual(200);
    }
    const circles = allNodes(byVal.nodes).filter((n) => n.tag === 'circle');
    expect(circles).toHaveLength(3);
    expect(circles.filter((n) => n.attrs.class === 'point active')).toHaveLength(1);
    const line = byVal.nodes.find((n) => n.tag === 'polyline')!;
    expect(line.attrs.points).toBe(byVal.points.map((p) => `${p.x},${p.y}`).join(' '));
    // Tooltips carry the version id and value as text nodes.
    expect(allNodes(byVal.nodes).some((n) => n.tag === 'title' && n.text?.startsWith('r3 (serving): valNdcg10 0.700'))).toBe(true);
  });

  it('shows what the gate compared against when plotting candidateNdcg10', () => {
    const scene = learningCurve([
      relevance('r1', '2026-11-01T00:00:00Z', { candidateNdcg10: 0.55, servingNdcg10: 0.5 }),
      relevance('r2', '2026-11-02T00:00:00Z', { candidateNdcg10: 0.6, servingNdcg10: 0.55 }, true),
    ]);
    expect(allNodes(scene.nodes).filter((n) => n.attrs.class === 'serving')).toHaveLength(2);
    // servingNdcg10 is context for a point, never a curve of its own.
    expect(scene.metrics).not.toContain('servingNdcg10');
  });

  it('spreads versions created at the same instant evenly instead of stacking them', () => {
    const t = '2026-11-01T00:00:00Z';
    const scene = learningCurve([relevance('a', t, { valNdcg10: 0.4 }), relevance('b', t, { valNdcg10: 0.5 }), relevance('c', t, { valNdcg10: 0.45 })]);
    const xs = scene.points.map((p) => p.x);
    expect(new Set(xs).size).toBe(3);
    for (const n of allNodes(scene.nodes)) {
      for (const v of Object.values(n.attrs)) if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
    }
  });
});

describe('the page', () => {
  it('is one self-contained document whose CSP admits exactly its inline script and style', () => {
    const { html, csp } = buildPage();
    const script = html.match(/<script type="module">([\s\S]*)<\/script>/)![1]!;
    const style = html.match(/<style>([\s\S]*?)<\/style>/)![1]!;
    expect(script).toBe(PAGE_SCRIPT);
    expect(style).toBe(PAGE_STYLE);
    const hash = (s: string) => createHash('sha256').update(s).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash(script)}'`);
    expect(csp).toContain(`style-src 'sha256-${hash(style)}'`);
    expect(csp).toContain("connect-src 'self'");
    // Nothing is loaded from elsewhere (the only URL is the SVG namespace, an identifier).
    const urls = [...html.matchAll(/https?:\/\/[^\s'"`)]+/g)].map((m) => m[0]);
    expect(urls.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html).not.toMatch(/<(link|script|img)[^>]+(src|href)="(?!data:)/);
    // The script is valid JavaScript and never writes markup strings into the DOM.
    expect(() => new Script(script)).not.toThrow();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('is served at GET / by registerPage with its security headers', async () => {
    const app = Fastify();
    registerPage(app);
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(buildPage().csp);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<textarea id="question"');
    await app.close();
  });
});
