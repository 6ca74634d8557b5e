// Helpers for the HTTP service tests: JSON requests, SSE parsing, and relevance model versions to switch between.
import { join } from 'node:path';
import type { Engine } from '../../src/engine.js';
import { FEATURE_NAMES } from '../../src/rank/features.js';
import { exportRelevanceModel } from '../../src/train/relevance/export.js';
import { initialParams, type TrainedRelevanceModel } from '../../src/train/relevance/model.js';
import { registerModel } from '../../src/train/registry.js';
import { SeededRandom } from '../../src/util/random.js';

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Parses a whole SSE body into events (`event:` defaults to "message"). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    events.push({ event, data: data.join('\n') });
  }
  return events;
}

/**
 * Registers a relevance model version with random (untrained) weights: a real exported ONNX model the engine loads
 * and serves, without spending a training run on it. Inactive unless asked.
 */
export async function registerRandomRelevanceModel(engine: Engine, id: string, seed: number, activate = false): Promise<void> {
  const rng = new SeededRandom(seed);
  const F = FEATURE_NAMES.length;
  const model: TrainedRelevanceModel = {
    architecture: { kind: 'mlp-conv1x1', inputs: F, hidden: [32, 16], activation: 'relu' },
    params: initialParams(F, [32, 16], () => rng.nextFloat()),
    featureNames: [...FEATURE_NAMES],
    standardisation: { mean: new Array<number>(F).fill(0), scale: new Array<number>(F).fill(1), clip: 32 },
    calibration: { temperature: 1, bias: 0 },
    metrics: { valNdcg10: 0.5, trainLoss: 1, epochs: 1, bestEpoch: 1, seconds: 0, stagingSeconds: 0, trainLists: 0, valLists: 0, calibrationLogLoss: 0.7 },
    rangeProbe: { n: 2, features: Float32Array.from({ length: 2 * F }, (_, i) => (i < F ? 0 : 1)) },
  };
  const dir = join(engine.config.home, 'models', id);
  const exported = await exportRelevanceModel(model, dir, { version: id, buckets: [64, 256] });
  registerModel(engine.store, engine.config.home, { id, kind: 'relevance', dir: join('models', id), files: exported.files, meta: exported.meta as unknown as Record<string, unknown>, metrics: { valNdcg10: 0.5 }, activate });
}
