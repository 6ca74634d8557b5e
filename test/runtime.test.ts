import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COREML_FLAGS,
  chooseExecutionProviders,
  createSession,
  defaultCudaProbe,
  describeCoreMlFlags,
  detectCuda,
  providerName,
  type CudaProbe,
  type RuntimeLogger,
} from '../src/embed/runtime.js';
import { SieveError } from '../src/errors.js';
import { GraphBuilder } from '../src/embed/onnx/builder.js';

const cacheDir = '/tmp/sieve-cache';

function recordingLogger(): RuntimeLogger & { warnings: Array<{ message: string; details?: Record<string, unknown> }> } {
  const warnings: Array<{ message: string; details?: Record<string, unknown> }> = [];
  return { warnings, warn: (message, details) => warnings.push(details ? { message, details } : { message }) };
}

/** score = sigmoid(1×1 Conv(x)) over [1, 2, 1, 32] with weights [[1, 2], [-1, 0.5]]. */
function tinyModel(): Uint8Array {
  const g = new GraphBuilder('tiny');
  const x = g.input('x', 'float32', [1, 2, 1, 32]);
  g.sigmoid(g.conv1d(x, Float32Array.of(1, 2, -1, 0.5), [2, 2, 1], Float32Array.of(0, 0.25)), 'score');
  g.output('score', 'float32', [1, 2, 1, 32]);
  return g.toModel({ opset: 17, producer: 'sieve' });
}

async function checkTinyModelRuns(session: ort.InferenceSession): Promise<void> {
  const x = new Float32Array(64);
  for (let t = 0; t < 32; t++) {
    x[t] = t / 32; // channel 0
    x[32 + t] = 1 - t / 32; // channel 1
  }
  const out = await session.run({ x: new ort.Tensor('float32', x, [1, 2, 1, 32]) });
  const score = out['score']!.data as Float32Array;
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  for (const t of [0, 7, 31]) {
    expect(score[t]).toBeCloseTo(sig(1 * x[t]! + 2 * x[32 + t]!), 6);
    expect(score[32 + t]).toBeCloseTo(sig(-1 * x[t]! + 0.5 * x[32 + t]! + 0.25), 6);
  }
}

describe('chooseExecutionProviders', () => {
  it('picks CoreML (MLProgram, CPU + Neural Engine, static shapes) then CPU on Apple silicon', () => {
    const providers = chooseExecutionProviders({ platform: 'darwin', arch: 'arm64', cudaAvailable: false, cacheDir });
    expect(providers).toEqual([
      { name: 'coreml', coreMlFlags: COREML_FLAGS.CREATE_MLPROGRAM | COREML_FLAGS.ONLY_ENABLE_DEVICE_WITH_ANE | COREML_FLAGS.ONLY_ALLOW_STATIC_INPUT_SHAPES },
      'cpu',
    ]);
    const coreml = providers[0] as { coreMlFlags: number };
    expect(coreml.coreMlFlags).toBe(0x1c);
    expect(describeCoreMlFlags(coreml.coreMlFlags)).toEqual({
      ModelFormat: 'MLProgram',
      MLComputeUnits: 'CPUAndNeuralEngine',
      RequireStaticInputShapes: true,
    });
  });

  it('uses CPU on Intel Macs (no Neural Engine, no CUDA)', () => {
    expect(chooseExecutionProviders({ platform: 'darwin', arch: 'x64', cudaAvailable: false, cacheDir })).toEqual(['cpu']);
  });

  it('uses CUDA then CPU on Linux only when CUDA is available', () => {
    expect(chooseExecutionProviders({ platform: 'linux', arch: 'x64', cudaAvailable: true, cacheDir })).toEqual(['cuda', 'cpu']);
    expect(chooseExecutionProviders({ platform: 'linux', arch: 'x64', cudaAvailable: false, cacheDir })).toEqual(['cpu']);
    expect(chooseExecutionProviders({ platform: 'linux', arch: 'arm64', cudaAvailable: false, cacheDir })).toEqual(['cpu']);
  });

  it('uses CUDA on Windows when available, else CPU', () => {
    expect(chooseExecutionProviders({ platform: 'win32', arch: 'x64', cudaAvailable: false, cacheDir })).toEqual(['cpu']);
    expect(chooseExecutionProviders({ platform: 'win32', arch: 'x64', cudaAvailable: true, cacheDir })).toEqual(['cuda', 'cpu']);
  });
});

describe('detectCuda', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sieve-cuda-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function machine(name: string, files: { ort?: string[]; lib?: string[] }): CudaProbe {
    const ortBinDir = path.join(root, name, 'ort');
    const libDir = path.join(root, name, 'lib');
    mkdirSync(ortBinDir, { recursive: true });
    mkdirSync(libDir, { recursive: true });
    for (const f of files.ort ?? []) writeFileSync(path.join(ortBinDir, f), '');
    for (const f of files.lib ?? []) writeFileSync(path.join(libDir, f), '');
    return { platform: 'linux', arch: 'x64', ortBinDir, libraryDirs: [libDir, path.join(root, 'missing')], loaderCache: [] };
  }

  it('finds CUDA when the provider library and the CUDA runtime + cuBLASLt are present', () => {
    const probe = machine('full', {
      ort: ['libonnxruntime.so.1', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'],
      lib: ['libcudart.so.12', 'libcublasLt.so.12.4.5.8'],
    });
    expect(detectCuda(probe)).toBe(true);
    // The loader cache counts as much as a folder.
    const viaCache = machine('cache', { ort: ['libonnxruntime_providers_cuda.so'] });
    expect(detectCuda({ ...viaCache, loaderCache: ['libcudart.so.12', 'libcublasLt.so.12'] })).toBe(true);
  });

  it('says no without onnxruntime’s CUDA provider, without the CUDA libraries, or off linux/win32 x64', () => {
    expect(detectCuda(machine('no-provider', { ort: ['libonnxruntime.so.1'], lib: ['libcudart.so.12', 'libcublasLt.so.12'] }))).toBe(false);
    expect(detectCuda(machine('no-cublas', { ort: ['libonnxruntime_providers_cuda.so'], lib: ['libcudart.so.12'] }))).toBe(false);
    const full = machine('full2', { ort: ['libonnxruntime_providers_cuda.so'], lib: ['libcudart.so.12', 'libcublasLt.so.12'] });
    expect(detectCuda({ ...full, arch: 'arm64' })).toBe(false);
    expect(detectCuda({ ...full, platform: 'darwin' })).toBe(false);
  });

  it('probes this machine’s real onnxruntime-node folder and never claims CUDA without its provider library', () => {
    const probe = defaultCudaProbe();
    expect(readdirSync(probe.ortBinDir)).toContain('onnxruntime_binding.node');
    const hasProvider = readdirSync(probe.ortBinDir).some((f) => /onnxruntime_providers_cuda/.test(f));
    // On this dev box the CUDA download was skipped, so this is false; on a CUDA box it may be true.
    expect(!detectCuda(probe) || hasProvider).toBe(true);
  });
});

describe('createSession', () => {
  it('falls back to CPU when the first provider fails to start, and logs why', async () => {
    const logger = recordingLogger();
    // onnxruntime-node on linux-x64 knows 'cuda', but here its CUDA provider library was never installed,
    // so the CUDA session fails to start (on a machine with working CUDA this test would need another failing EP).
    const { session, provider } = await createSession(tinyModel(), { cacheDir, providers: ['cuda', 'cpu'], logger });
    try {
      expect(provider).toBe('cpu');
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]!.message).toContain("'cuda' failed to start");
      expect(String(logger.warnings[0]!.details?.['reason'])).toMatch(/cuda/i);
      await checkTinyModelRuns(session);
    } finally {
      await session.release();
    }
  });

  it('skips a provider this onnxruntime build does not have, saying so, instead of silently dropping it', async () => {
    const logger = recordingLogger();
    const { session, provider } = await createSession(tinyModel(), {
      cacheDir,
      providers: [{ name: 'coreml', coreMlFlags: 0x1c }, 'bogus-ep'],
      logger,
      intraOpThreads: 1,
    });
    try {
      expect(provider).toBe('cpu');
      expect(logger.warnings.map((w) => w.details?.['provider'])).toEqual(['coreml', 'bogus-ep']);
      expect(logger.warnings[1]!.message).toContain('not in this onnxruntime-node build');
      await checkTinyModelRuns(session);
    } finally {
      await session.release();
    }
  });

  it('runs a tiny builder model on this machine’s chosen provider (CPU here) without warnings', async () => {
    const logger = recordingLogger();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sieve-model-'));
    const file = path.join(dir, 'tiny.onnx');
    writeFileSync(file, tinyModel());
    try {
      const { session, provider } = await createSession(file, { cacheDir, logger });
      const chosen = chooseExecutionProviders({ platform: process.platform, arch: process.arch, cudaAvailable: detectCuda(), cacheDir });
      try {
        expect(provider).toBe(providerName(chosen[0]!));
        expect(logger.warnings).toEqual([]);
        expect(session.inputNames).toEqual(['x']);
        expect(session.outputNames).toEqual(['score']);
        await checkTinyModelRuns(session);
      } finally {
        await session.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing model file and an unloadable model as SieveErrors', async () => {
    await expect(createSession('/nonexistent/model.onnx', { cacheDir })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const err = await createSession(Uint8Array.of(1, 2, 3, 4), { cacheDir, providers: ['cpu'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SieveError);
    expect((err as SieveError).code).toBe('MODEL_INVALID');
  });
});
