import { describe, expect, it } from 'vitest';
import { checkAneCompatibility, type AneReport } from '../src/embed/onnx/ane-check.js';
import { GraphBuilder, decodeModel, encodeModel } from '../src/embed/onnx/builder.js';
import { convertModelToFloat16 } from '../src/embed/onnx/fp16.js';
import { SeededRandom } from '../src/util/random.js';

const L = 32;

function randomArray(rng: SeededRandom, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

/** The embedder in ANE form: bag gather → Conv1d k3 → GELU → masked mean pool → 1×1 projection → L2 normalise. */
function buildEmbedder(): { model: Uint8Array; sample: { ids: BigInt64Array; mask: Float32Array } } {
  const rng = new SeededRandom(5);
  const V = 64;
  const E = 8;
  const g = new GraphBuilder('embedder');
  const ids = g.input('ids', 'int64', [2, L]);
  const mask = g.input('mask', 'float32', [1, 1, 1, L]);
  const emb = g.gather(ids, randomArray(rng, V * E), [V, E], { sumBag: true, name: 'embed' });
  const h = g.gelu(g.conv1d(emb, randomArray(rng, E * E * 3), [E, E, 3], randomArray(rng, E), { pads: [1, 1], name: 'conv1' }), 'gelu1');
  const pooled = g.maskedMeanPool(h, mask, { name: 'pool' });
  g.l2Normalize(g.conv1d(pooled, randomArray(rng, 4 * E), [4, E, 1], null, { name: 'proj' }), { name: 'embedding' });
  g.output('embedding', 'float32', [1, 4, 1, 1]);
  const idData = BigInt64Array.from({ length: 2 * L }, (_, i) => BigInt(i % L < 20 ? 1 + ((i * 7) % (V - 1)) : 0));
  const maskData = Float32Array.from({ length: L }, (_, t) => (t < 20 ? 1 : 0));
  return { model: g.toModel({ opset: 17, producer: 'sieve' }), sample: { ids: idData, mask: maskData } };
}

function byRule(report: AneReport, rule: string) {
  return report.violations.filter((v) => v.rule === rule);
}

describe('checkAneCompatibility', () => {
  it('passes a graph in ANE form and reports its stats', async () => {
    const { model, sample } = buildEmbedder();
    const report = await checkAneCompatibility(model, { sampleInputs: [sample] });
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.stats.shapeProbe).toBe('ran');
    expect(report.stats.samplesRun).toBe(1);
    expect(report.stats.inputStageNodes).toBe(1); // the Gather
    expect(report.stats.opCounts['Conv']).toBe(2);
    expect(report.stats.opCounts['Gather']).toBe(1);
    expect(report.stats.maxAbsActivation).toBeGreaterThan(0);
    expect(report.stats.maxAbsActivation).toBeLessThan(65504);
    expect(report.stats.inputs).toEqual([
      { name: 'ids', elemType: 'int64', dims: [2, L] },
      { name: 'mask', elemType: 'float32', dims: [1, 1, 1, L] },
    ]);
  });

  it('fails a graph with a MatMul, a mid-graph Transpose and a dynamic dimension, naming each node', async () => {
    const C = 8;
    const rng = new SeededRandom(9);
    const g = new GraphBuilder('bad');
    const x = g.input('x', 'float32', [1, C, 1, L]);
    const conv = g.conv1d(x, randomArray(rng, C * C), [C, C, 1], null, { name: 'conv_in' });
    g.node('Transpose', [conv], ['nlc'], { perm: [0, 2, 3, 1] }, 'mid_transpose'); // [1, 1, L, C]
    g.initializer('dense.weight', randomArray(rng, C * C), [C, C]);
    g.node('MatMul', ['nlc', 'dense.weight'], ['dense'], {}, 'dense');
    g.node('Transpose', ['dense'], ['back'], { perm: [0, 3, 1, 2] }, 'back_transpose');
    g.output('back', 'float32', [1, C, 1, L]);
    // The builder refuses dynamic dims, so write one into the file as another exporter would.
    const proto = decodeModel(g.toModel({ opset: 17, producer: 'test' }));
    proto.graph!.input![0]!.type!.tensorType!.shape!.dim![3] = { dimParam: 'seq' };
    const report = await checkAneCompatibility(encodeModel(proto));

    expect(report.ok).toBe(false);
    expect(byRule(report, 'no-matmul')).toEqual([expect.objectContaining({ node: 'dense', op: 'MatMul', message: expect.stringContaining('1×1 Conv') })]);
    expect(byRule(report, 'no-layout-op').map((v) => v.node).sort()).toEqual(['back_transpose', 'mid_transpose']);
    expect(byRule(report, 'static-shapes')).toEqual([
      expect.objectContaining({ tensor: 'x', node: 'conv_in', message: expect.stringContaining('[1, 8, 1, seq]') }),
    ]);
    expect(report.stats.shapeProbe).toMatch(/^skipped/);
  });

  it('catches layout, placement, rank, concat, alignment and unsupported-op breaks', async () => {
    const C = 4;
    const rng = new SeededRandom(13);
    const g = new GraphBuilder('mixed');
    const x = g.input('x', 'float32', [1, C, 1, 48]); // 48 is not a multiple of 32
    const h = g.relu(g.conv1d(x, randomArray(rng, C * C), [C, C, 1], null, { name: 'c1' }), 'r1');
    g.node('Concat', [h, h], ['cat'], { axis: 3 }, 'cat'); // along L, not channels
    g.node('ReduceSum', ['cat', g.int64s('axes', [2, 3])], ['flat'], { keepdims: 0 }, 'flatten_sum'); // rank 2
    g.node('Unsqueeze', ['flat', g.int64s('uaxes', [2, 3])], ['back4d'], {}, 'late_unsqueeze');
    g.node('Softmax', ['back4d'], ['probs'], { axis: 1 }, 'softmax');
    g.initializer('table', randomArray(rng, 1 * C * 10), [1, C, 10]);
    g.initializer('idx', new BigInt64Array(48), [1, 48]);
    g.node('Gather', ['probs', 'idx'], ['gathered'], { axis: 1 }, 'late_gather');
    g.output('gathered', 'float32', [1, 1, 48, 1, 1]);
    const report = await checkAneCompatibility(g.toModel({ opset: 17, producer: 'test' }));

    expect(report.ok).toBe(false);
    expect(byRule(report, 'concat-channels').map((v) => v.node)).toEqual(['cat']);
    expect(byRule(report, 'channels-first').map((v) => v.node)).toContain('flatten_sum');
    expect(byRule(report, 'input-stage-only').map((v) => v.node).sort()).toEqual(['late_gather', 'late_unsqueeze']);
    expect(byRule(report, 'supported-op')).toEqual([expect.objectContaining({ node: 'softmax', op: 'Softmax' })]);
    expect(byRule(report, 'last-axis-64B')).toEqual([expect.objectContaining({ tensor: 'x', node: 'c1', message: expect.stringContaining('pad it to 64') })]);
    // A size-1 last axis on the output is the pooled singleton: exempt.
    expect(byRule(report, 'last-axis-64B').some((v) => v.tensor === 'gathered')).toBe(false);
  });

  it('requires Gather to look up a constant table at ids from a graph input', async () => {
    const g = new GraphBuilder('gathers');
    const ids = g.input('ids', 'int64', [1, L]);
    const table = g.input('table', 'float32', [1, 4, 16]); // a table fed at run time, not a weight
    g.node('Gather', [table, ids], ['emb'], { axis: 2 }, 'gather_from_input_table');
    g.output('emb', 'float32', [1, 4, 1, L]);
    const report = await checkAneCompatibility(g.toModel({ opset: 17, producer: 'test' }));
    expect(byRule(report, 'gather-on-input').map((v) => v.node)).toEqual(['gather_from_input_table']);
  });

  it('catches an intermediate that leaves the FP16 range on sample inputs, naming the node', async () => {
    const C = 8;
    const g = new GraphBuilder('hot');
    const x = g.input('x', 'float32', [1, C, 1, L]);
    const hot = g.conv1d(x, new Float32Array(C * C).fill(1000), [C, C, 1], null, { name: 'hot' }); // 8·1000·10 = 80 000
    g.sigmoid(hot, 'squashed'); // the output itself is back in range
    g.output('squashed', 'float32', [1, C, 1, L]);
    const model = g.toModel({ opset: 17, producer: 'test' });
    const small = { x: new Float32Array(C * L).fill(0.5) };
    const large = { x: new Float32Array(C * L).fill(10) };

    const structural = await checkAneCompatibility(model);
    expect(structural.ok).toBe(true); // no samples: nothing to range-check

    const safe = await checkAneCompatibility(model, { sampleInputs: [small] });
    expect(safe.ok).toBe(true);
    expect(safe.stats.maxAbsActivation).toBeCloseTo(4000, 3);
    expect(safe.stats.maxAbsActivationNode).toBe('hot');

    const report = await checkAneCompatibility(model, { sampleInputs: [small, large] });
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([expect.objectContaining({ rule: 'fp16-range', node: 'hot', op: 'Conv' })]);
    expect(report.violations[0]!.message).toContain('80000');
    expect(report.stats.samplesRun).toBe(2);

    // The FP16 export of the same model is widened for the probe and fails the same way.
    const half = convertModelToFloat16(model).bytes;
    const halfReport = await checkAneCompatibility(half, { sampleInputs: [large] });
    expect(halfReport.violations).toEqual([expect.objectContaining({ rule: 'fp16-range', node: 'hot' })]);
  });

  it('reports sample inputs that do not fit the model as a failed probe', async () => {
    const { model } = buildEmbedder();
    const report = await checkAneCompatibility(model, { sampleInputs: [{ ids: new BigInt64Array(3), mask: new Float32Array(L) }] });
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([expect.objectContaining({ rule: 'runnable', message: expect.stringContaining('ids') })]);
  });
});
