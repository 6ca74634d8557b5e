// Static check that an exported graph has the shape the Apple Neural Engine runs (DESIGN.md "ANE rules"),
// plus a dynamic FP16 range check on sample inputs. Used by export (refuse to register a bad model) and by
// `sieve models check`. It cannot prove a model lands on the ANE (only Core ML decides that at compile time);
// it rejects what is known to push work off it or to break under FP16.
//
// Rules (each violation carries its rule id and the offending node):
//  - 'supported-op': ops outside ALLOWED_OPS ∪ INPUT_STAGE_OPS ∪ {MatMul, Gemm}, or any non-default domain.
//  - 'no-matmul': MatMul / Gemm — a dense layer is a 1×1 Conv over [N, C, 1, L] on the ANE.
//  - 'input-stage-only': Gather, Cast, Unsqueeze, Squeeze outside the input stage. The input stage is the nodes
//    whose op is in INPUT_STAGE_OPS and whose inputs are graph inputs, initializers or other input-stage outputs,
//    i.e. everything before the first compute op.
//  - 'gather-on-input': a Gather must read a constant table (initializer) at ids that come from a graph input.
//  - 'no-layout-op': Reshape, Transpose, Flatten anywhere after a Gather or outside the input stage.
//  - 'concat-channels': Concat only along axis 1 (channels), written as 1 (negative axes are rank-dependent).
//  - 'static-shapes': every graph input/output/value_info dim is a positive integer (no dim_param), and every
//    initializer dim is positive.
//  - 'channels-first': every tensor a node outside the input stage produces has rank 3 or 4 ([N, C, L] or
//    [N, C, H, L]); ranks come from a probe run (all shapes are static, so zero inputs suffice) or value_info.
//  - 'last-axis-64B': the last axis of each graph input and output is a multiple of 32 (32 fp16 = 64 bytes,
//    the ANE's row alignment; anything else is padded and copied). Checked on every graph input and output whose
//    last dim is > 1: that axis is the sequence (L) axis or a feature axis. A last dim of 1 is exempt: it is
//    the pooled singleton W of [N, C, 1, 1] outputs, not a sequence or feature axis, and cannot be padded away.
//  - 'fp16-range': with sample inputs, the model (widened to FP32 if it is FP16) is run with every intermediate
//    tensor exposed as an extra graph output; any |value| > 65504 or non-finite value names its node.
//  - 'runnable': the probe run failed on a graph whose shapes are all static (the model is broken or the sample
//    inputs do not fit it).
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel } from './builder.js';
import { FLOAT16_MAX, convertModelToFloat32 } from './fp16.js';
import { readModel, type Dim, type ModelSummary, type NodeSummary, type TensorSummary } from './read.js';

/** Ops the compute body may use (Core ML MLProgram maps each to an ANE-capable op). */
export const ALLOWED_OPS: ReadonlySet<string> = new Set([
  'Conv',
  'Relu',
  'Sigmoid',
  'Tanh',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'ReduceMean',
  'ReduceSum',
  'ReduceL2',
  'Sqrt',
  'Max',
  'Min',
  'Clip',
  'Pow',
  'Exp',
  'Erf',
  'Concat',
  'Identity',
  'Constant',
]);

/** Ops allowed only before the first compute op: the embedding lookup and the casts/reshapes that feed it. */
export const INPUT_STAGE_OPS: ReadonlySet<string> = new Set(['Gather', 'Cast', 'Unsqueeze', 'Squeeze', 'Identity', 'Reshape', 'Transpose', 'Flatten']);

const LAYOUT_OPS: ReadonlySet<string> = new Set(['Reshape', 'Transpose', 'Flatten']);
const STAGE_ONLY_OPS: ReadonlySet<string> = new Set(['Gather', 'Cast', 'Unsqueeze', 'Squeeze']);

export type AneRule =
  | 'supported-op'
  | 'no-matmul'
  | 'input-stage-only'
  | 'gather-on-input'
  | 'no-layout-op'
  | 'concat-channels'
  | 'static-shapes'
  | 'channels-first'
  | 'last-axis-64B'
  | 'fp16-range'
  | 'runnable';

export interface AneViolation {
  rule: AneRule;
  /** The offending node (for a graph input/output or initializer: the first node that reads it, if any). */
  node?: string;
  op?: string;
  /** The offending tensor, where the rule is about a tensor. */
  tensor?: string;
  message: string;
}

export interface AneStats {
  nodes: number;
  opCounts: Record<string, number>;
  inputs: Array<{ name: string; elemType: string; dims: Dim[] | null }>;
  outputs: Array<{ name: string; elemType: string; dims: Dim[] | null }>;
  initializers: number;
  parameters: number;
  inputStageNodes: number;
  /** 'ran', or why the shape probe did not run. */
  shapeProbe: string;
  samplesRun: number;
  /** Largest |activation| over all samples and nodes, when sample inputs were given. */
  maxAbsActivation: number | null;
  maxAbsActivationNode: string | null;
}

export interface AneReport {
  ok: boolean;
  violations: AneViolation[];
  stats: AneStats;
}

export type SampleInput = Record<string, Float32Array | Int32Array | BigInt64Array>;

export interface AneCheckOptions {
  sampleInputs?: SampleInput[];
}

interface GraphIndex {
  producer: Map<string, NodeSummary>;
  consumers: Map<string, NodeSummary[]>;
  graphInputs: Set<string>;
  initializers: Set<string>;
}

function indexGraph(model: ModelSummary): GraphIndex {
  const producer = new Map<string, NodeSummary>();
  const consumers = new Map<string, NodeSummary[]>();
  for (const node of model.nodes) {
    for (const out of node.outputs) if (out) producer.set(out, node);
    for (const inp of node.inputs) {
      if (!inp) continue;
      const list = consumers.get(inp) ?? [];
      list.push(node);
      consumers.set(inp, list);
    }
  }
  const initializers = new Set(model.initializers.map((i) => i.name));
  // Since IR 4 initializers need not be listed as inputs; when they are, they are still constants.
  const graphInputs = new Set(model.inputs.map((i) => i.name).filter((n) => !initializers.has(n)));
  return { producer, consumers, graphInputs, initializers };
}

/** Node names of the input stage, in topological order (the file's node order is topological per the spec). */
function inputStage(model: ModelSummary, g: GraphIndex): Set<string> {
  const stageTensors = new Set([...g.graphInputs, ...g.initializers]);
  const stage = new Set<string>();
  for (const node of model.nodes) {
    if (!INPUT_STAGE_OPS.has(node.opType) || node.domain) continue;
    if (!node.inputs.every((i) => !i || stageTensors.has(i))) continue;
    stage.add(node.name);
    for (const out of node.outputs) stageTensors.add(out);
  }
  return stage;
}

/** True when `tensor` is produced downstream of a Gather. */
function hasGatherAncestor(tensor: string, g: GraphIndex, memo = new Map<string, boolean>()): boolean {
  const cached = memo.get(tensor);
  if (cached !== undefined) return cached;
  memo.set(tensor, false); // a cycle (invalid ONNX) must not recurse forever
  const node = g.producer.get(tensor);
  const result = !!node && (node.opType === 'Gather' || node.inputs.some((i) => !!i && hasGatherAncestor(i, g, memo)));
  memo.set(tensor, result);
  return result;
}

/** True when `tensor` is a graph input, possibly through input-stage Cast/Unsqueeze/Squeeze/Identity/Reshape. */
function comesFromGraphInput(tensor: string, g: GraphIndex, stage: Set<string>): boolean {
  if (g.graphInputs.has(tensor)) return true;
  const node = g.producer.get(tensor);
  if (!node || !stage.has(node.name) || node.opType === 'Gather') return false;
  const first = node.inputs[0];
  return !!first && comesFromGraphInput(first, g, stage);
}

function isStaticDims(dims: Dim[] | null): dims is number[] {
  return dims !== null && dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0);
}

function describeDims(dims: Dim[] | null): string {
  return dims === null ? 'no shape' : `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

function structuralViolations(model: ModelSummary, g: GraphIndex, stage: Set<string>): AneViolation[] {
  const violations: AneViolation[] = [];
  for (const node of model.nodes) {
    const base = { node: node.name, op: node.opType };
    if (node.domain && node.domain !== 'ai.onnx') {
      violations.push({ ...base, rule: 'supported-op', message: `custom-domain op ${node.domain}.${node.opType} is not supported on the ANE` });
      continue;
    }
    if (node.opType === 'MatMul' || node.opType === 'Gemm') {
      violations.push({ ...base, rule: 'no-matmul', message: `${node.opType} does not run on the ANE; use a 1×1 Conv over [N, C, 1, L]` });
      continue;
    }
    if (!ALLOWED_OPS.has(node.opType) && !INPUT_STAGE_OPS.has(node.opType)) {
      violations.push({ ...base, rule: 'supported-op', message: `${node.opType} is not in the supported op set` });
      continue;
    }
    const inStage = stage.has(node.name);
    if (LAYOUT_OPS.has(node.opType)) {
      const afterGather = node.inputs.some((i) => !!i && hasGatherAncestor(i, g));
      if (!inStage || afterGather) {
        violations.push({
          ...base,
          rule: 'no-layout-op',
          message: `${node.opType} ${afterGather ? 'after the input gather' : 'in the compute body'}: keep tensors channels-first without reshaping (store weights pre-transposed instead)`,
        });
      }
      continue;
    }
    if (STAGE_ONLY_OPS.has(node.opType) && !inStage) {
      violations.push({ ...base, rule: 'input-stage-only', message: `${node.opType} is only allowed at the graph inputs, before the first compute op` });
      continue;
    }
    if (node.opType === 'Gather') {
      const [data, indices] = node.inputs;
      if (!data || !g.initializers.has(data) || !indices || !comesFromGraphInput(indices, g, stage)) {
        violations.push({ ...base, rule: 'gather-on-input', message: 'Gather must look up a constant table at ids taken directly from a graph input' });
      }
    }
    if (node.opType === 'Concat' && node.attributes['axis'] !== 1) {
      // Negative axes are rejected too: which axis -2 or -3 means depends on rank; the exporter writes 1.
      violations.push({ ...base, rule: 'concat-channels', message: `Concat along axis ${JSON.stringify(node.attributes['axis'])}; only the channel axis (axis=1) is allowed` });
    }
  }
  return violations;
}

function firstConsumer(tensor: string, g: GraphIndex): string | undefined {
  return g.consumers.get(tensor)?.[0]?.name ?? g.producer.get(tensor)?.name;
}

function shapeViolations(model: ModelSummary, g: GraphIndex): AneViolation[] {
  const violations: AneViolation[] = [];
  const ioTensors: Array<[string, TensorSummary]> = [
    ...model.inputs.filter((t) => g.graphInputs.has(t.name)).map((t): [string, TensorSummary] => ['input', t]),
    ...model.outputs.map((t): [string, TensorSummary] => ['output', t]),
    ...model.valueInfo.map((t): [string, TensorSummary] => ['tensor', t]),
  ];
  for (const [kind, t] of ioTensors) {
    const node = firstConsumer(t.name, g);
    if (!isStaticDims(t.dims)) {
      violations.push({
        rule: 'static-shapes',
        tensor: t.name,
        ...(node ? { node } : {}),
        message: `${kind} ${t.name} has shape ${describeDims(t.dims)}; every dimension must be a fixed positive integer`,
      });
      continue;
    }
    if (kind === 'tensor') continue;
    const last = t.dims[t.dims.length - 1];
    if (last !== undefined && last > 1 && last % 32 !== 0) {
      violations.push({
        rule: 'last-axis-64B',
        tensor: t.name,
        ...(node ? { node } : {}),
        message: `${kind} ${t.name} ${describeDims(t.dims)}: last axis ${last} is not a multiple of 32 fp16 elements (64 bytes); pad it to ${Math.ceil(last / 32) * 32}`,
      });
    }
  }
  for (const init of model.initializers) {
    if (init.dims.some((d) => !Number.isInteger(d) || d <= 0)) {
      const node = firstConsumer(init.name, g);
      violations.push({
        rule: 'static-shapes',
        tensor: init.name,
        ...(node ? { node } : {}),
        message: `initializer ${init.name} has dims ${describeDims(init.dims)}; every dimension must be positive`,
      });
    }
  }
  return violations;
}

// ---- probe runs (shapes, FP16 range) ----

type ProbeTensor = Float32Array | Int32Array | BigInt64Array | Uint8Array;

interface ProbeResult {
  /** Output dims of every node output, by tensor name. */
  dims: Map<string, readonly number[]>;
  /** Per node output tensor: the largest |value| (Infinity when non-finite values appear). */
  maxAbs: Map<string, number>;
}

function zeroInput(t: TensorSummary, dims: number[]): ort.Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  switch (t.elemType) {
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(size), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(size), dims);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(size), dims);
    default:
      return new ort.Tensor('float32', new Float32Array(size), dims);
  }
}

function sampleTensor(t: TensorSummary, dims: number[], data: ProbeTensor): ort.Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new Error(`sample input ${t.name} has ${data.length} values; its shape ${describeDims(dims)} needs ${size}`);
  const expected = t.elemType === 'float16' ? 'float32' : t.elemType;
  const actual = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : data instanceof BigInt64Array ? 'int64' : 'bool';
  if (expected !== actual) throw new Error(`sample input ${t.name} is ${actual} but the model wants ${t.elemType}`);
  if (data instanceof Float32Array) return new ort.Tensor('float32', data, dims);
  if (data instanceof Int32Array) return new ort.Tensor('int32', data, dims);
  if (data instanceof BigInt64Array) return new ort.Tensor('int64', data, dims);
  return new ort.Tensor('bool', data, dims);
}

function maxAbsOf(data: ort.Tensor['data']): number {
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) return 0;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = Math.abs(data[i]!);
    if (!(v <= max)) max = Number.isNaN(v) ? Infinity : v; // NaN counts as overflow
  }
  return max;
}

/**
 * Runs a copy of the model (widened to FP32, optimisations off so every node's own output is observable) with
 * every node output as a graph output, once per input set.
 */
async function probe(modelBytes: Uint8Array, model: ModelSummary, g: GraphIndex, inputSets: SampleInput[] | null): Promise<ProbeResult> {
  const widened = model.inputs.some((t) => t.elemType === 'float16') || model.initializers.some((t) => t.elemType === 'float16')
    ? convertModelToFloat32(modelBytes)
    : modelBytes;
  const proto = decodeModel(widened);
  const graph = proto.graph!;
  const declared = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const extra = model.nodes.flatMap((n) => n.outputs).filter((o) => o && !declared.has(o));
  graph.output = [...(graph.output ?? []), ...extra.map((name) => ({ name }))];
  const session = await ort.InferenceSession.create(encodeModel(proto), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'disabled',
    logSeverityLevel: 3,
  });
  const result: ProbeResult = { dims: new Map(), maxAbs: new Map() };
  try {
    const inputs = model.inputs.filter((t) => g.graphInputs.has(t.name));
    const sets = inputSets ?? [{}];
    for (const set of sets) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of inputs) {
        const dims = t.dims as number[]; // static: probe() only runs after the static-shape rule passed for inputs
        const data = set[t.name];
        if (inputSets && data === undefined) throw new Error(`sample input set has no value for input ${t.name}`);
        feeds[t.name] = data === undefined ? zeroInput(t, dims) : sampleTensor(t, dims, data);
      }
      const outputs = await session.run(feeds);
      for (const [name, tensor] of Object.entries(outputs)) {
        result.dims.set(name, tensor.dims);
        if (inputSets) result.maxAbs.set(name, Math.max(result.maxAbs.get(name) ?? 0, maxAbsOf(tensor.data)));
      }
    }
  } finally {
    await session.release();
  }
  return result;
}

function rankViolations(model: ModelSummary, stage: Set<string>, dims: Map<string, readonly number[]>): AneViolation[] {
  const violations: AneViolation[] = [];
  for (const node of model.nodes) {
    if (stage.has(node.name) || node.opType === 'Constant') continue;
    for (const out of node.outputs) {
      const d = dims.get(out);
      if (d && d.length !== 3 && d.length !== 4) {
        violations.push({
          rule: 'channels-first',
          node: node.name,
          op: node.opType,
          tensor: out,
          message: `${node.opType} produces a rank-${d.length} tensor [${d.join(', ')}]; keep activations channels-first rank 3 or 4 ([N, C, L] or [N, C, H, L])`,
        });
      }
    }
  }
  return violations;
}

/** Checks an ONNX model against the ANE rules above; never throws for a rule break, only for unreadable bytes. */
export async function checkAneCompatibility(modelBytes: Uint8Array, opts: AneCheckOptions = {}): Promise<AneReport> {
  const model = readModel(modelBytes);
  const g = indexGraph(model);
  const stage = inputStage(model, g);
  const violations = [...structuralViolations(model, g, stage), ...shapeViolations(model, g)];

  const opCounts: Record<string, number> = {};
  for (const n of model.nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  const stats: AneStats = {
    nodes: model.nodes.length,
    opCounts,
    inputs: model.inputs.filter((t) => g.graphInputs.has(t.name)).map((t) => ({ name: t.name, elemType: t.elemType, dims: t.dims })),
    outputs: model.outputs.map((t) => ({ name: t.name, elemType: t.elemType, dims: t.dims })),
    initializers: model.initializers.length,
    parameters: model.initializers.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0),
    inputStageNodes: stage.size,
    shapeProbe: 'not run',
    samplesRun: 0,
    maxAbsActivation: null,
    maxAbsActivationNode: null,
  };

  // Shapes from value_info first; the probe run overrides with what onnxruntime actually computed.
  const dims = new Map<string, readonly number[]>();
  for (const t of model.valueInfo) if (isStaticDims(t.dims)) dims.set(t.name, t.dims);

  const inputsStatic = model.inputs.filter((t) => g.graphInputs.has(t.name)).every((t) => isStaticDims(t.dims));
  if (!inputsStatic) {
    stats.shapeProbe = 'skipped: graph inputs have dynamic dimensions';
  } else {
    const samples = opts.sampleInputs && opts.sampleInputs.length > 0 ? opts.sampleInputs : null;
    try {
      const result = await probe(modelBytes, model, g, samples);
      stats.shapeProbe = 'ran';
      for (const [name, d] of result.dims) dims.set(name, d);
      if (samples) {
        stats.samplesRun = samples.length;
        let best = -1;
        let bestNode: string | null = null;
        for (const node of model.nodes) {
          for (const out of node.outputs) {
            const m = result.maxAbs.get(out);
            if (m === undefined) continue;
            if (m > best) {
              best = m;
              bestNode = node.name;
            }
            if (m > FLOAT16_MAX) {
              violations.push({
                rule: 'fp16-range',
                node: node.name,
                op: node.opType,
                tensor: out,
                message: `${node.opType} reaches |value| ${Number.isFinite(m) ? m.toPrecision(6) : 'non-finite'} on the sample inputs, beyond FP16's ±${FLOAT16_MAX}`,
              });
            }
          }
        }
        stats.maxAbsActivation = best >= 0 ? best : null;
        stats.maxAbsActivationNode = bestNode;
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      stats.shapeProbe = `failed: ${reason}`;
      violations.push({ rule: 'runnable', message: `onnxruntime could not run the model for the shape/range probe: ${reason}` });
    }
  }
  violations.push(...rankViolations(model, stage, dims));
  return { ok: violations.length === 0, violations, stats };
}
