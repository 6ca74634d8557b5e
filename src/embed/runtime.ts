// The one execution-provider seam: which onnxruntime-node provider runs sieve's models on this machine, and
// session creation that falls back to CPU (with the reason logged) when an accelerator will not start.
//
// CoreML options: onnxruntime-node 1.30's binding forwards exactly one CoreML option, `coreMlFlags` (a bit set;
// its typings in onnxruntime-common say the same). The string options of the C API (ModelFormat, MLComputeUnits,
// RequireStaticInputShapes, ModelCacheDirectory) are not reachable from Node, so DESIGN.md's intent is expressed
// as flags: CREATE_MLPROGRAM (ModelFormat=MLProgram) | ONLY_ENABLE_DEVICE_WITH_ANE (MLComputeUnits=
// CPUAndNeuralEngine) | ONLY_ALLOW_STATIC_INPUT_SHAPES (RequireStaticInputShapes). ModelCacheDirectory has no
// flag, so Core ML recompiles once per session until the binding forwards it.
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { SieveError } from '../errors.js';

/** Bit flags of onnxruntime's coreml_provider_factory.h. */
export const COREML_FLAGS = {
  USE_CPU_ONLY: 0x001,
  ENABLE_ON_SUBGRAPH: 0x002,
  ONLY_ENABLE_DEVICE_WITH_ANE: 0x004,
  ONLY_ALLOW_STATIC_INPUT_SHAPES: 0x008,
  CREATE_MLPROGRAM: 0x010,
  USE_CPU_AND_GPU: 0x020,
} as const;

/** MLProgram, CPU + Neural Engine, static input shapes. */
export const SIEVE_COREML_FLAGS =
  COREML_FLAGS.CREATE_MLPROGRAM | COREML_FLAGS.ONLY_ENABLE_DEVICE_WITH_ANE | COREML_FLAGS.ONLY_ALLOW_STATIC_INPUT_SHAPES;

export interface CoreMlProviderConfig {
  readonly name: 'coreml';
  readonly coreMlFlags: number;
}

/** What sieve hands onnxruntime-node; each value is accepted by its `executionProviders` option as is. */
export type ExecutionProviderConfig = 'cpu' | 'cuda' | CoreMlProviderConfig | string;

export interface ExecutionEnvironment {
  platform: string;
  arch: string;
  cudaAvailable: boolean;
  /** Where compiled accelerator models should be cached (unused until the binding forwards ModelCacheDirectory; see top). */
  cacheDir: string;
}

export function providerName(p: ExecutionProviderConfig): string {
  return typeof p === 'string' ? p : p.name;
}

/** The providers to try, best first; always ends with 'cpu'. */
export function chooseExecutionProviders(env: ExecutionEnvironment): ExecutionProviderConfig[] {
  if (env.platform === 'darwin' && env.arch === 'arm64') {
    return [{ name: 'coreml', coreMlFlags: SIEVE_COREML_FLAGS }, 'cpu'];
  }
  if (env.cudaAvailable) return ['cuda', 'cpu'];
  return ['cpu'];
}

/** The CoreML flags spelled as the C API's provider options, for logs and `sieve models` output. */
export function describeCoreMlFlags(flags: number): Record<string, string | boolean> {
  return {
    ModelFormat: flags & COREML_FLAGS.CREATE_MLPROGRAM ? 'MLProgram' : 'NeuralNetwork',
    MLComputeUnits:
      flags & COREML_FLAGS.ONLY_ENABLE_DEVICE_WITH_ANE
        ? 'CPUAndNeuralEngine'
        : flags & COREML_FLAGS.USE_CPU_AND_GPU
          ? 'CPUAndGPU'
          : flags & COREML_FLAGS.USE_CPU_ONLY
            ? 'CPUOnly'
            : 'ALL',
    RequireStaticInputShapes: (flags & COREML_FLAGS.ONLY_ALLOW_STATIC_INPUT_SHAPES) !== 0,
  };
}

// ---- CUDA detection ----

/** What detectCuda looks at; injectable so tests can describe a machine. */
export interface CudaProbe {
  platform: string;
  arch: string;
  /** onnxruntime-node's native folder for this platform (where its CUDA provider library would be installed). */
  ortBinDir: string;
  /** Folders the dynamic loader searches. */
  libraryDirs: string[];
  /** Library file names the loader cache knows (`ldconfig -p`), if it could be read. */
  loaderCache: string[];
}

/** onnxruntime-node ships a CUDA provider only for these (its install script's requirements). */
const CUDA_PLATFORMS = new Set(['linux/x64', 'win32/x64']);

function ortBinDir(platform: string, arch: string): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('onnxruntime-node'); // <pkg>/dist/index.js
  return path.join(path.dirname(main), '..', 'bin', 'napi-v6', platform, arch);
}

function readLoaderCache(): string[] {
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    if (!existsSync(ldconfig)) continue;
    try {
      const out = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
      return out
        .split('\n')
        .map((line) => line.trim().split(/\s+/)[0] ?? '')
        .filter((name) => name.length > 0);
    } catch {
      return [];
    }
  }
  return [];
}

export function defaultCudaProbe(): CudaProbe {
  const fromEnv = (name: string): string[] => (process.env[name] ?? '').split(path.delimiter).filter((d) => d.length > 0);
  return {
    platform: process.platform,
    arch: process.arch,
    ortBinDir: ortBinDir(process.platform, process.arch),
    libraryDirs: [
      ...fromEnv('LD_LIBRARY_PATH'),
      ...(process.env['CUDA_PATH'] ? [path.join(process.env['CUDA_PATH'], 'bin'), path.join(process.env['CUDA_PATH'], 'lib64')] : []),
      ...(process.platform === 'win32' ? fromEnv('PATH') : []),
      '/usr/local/cuda/lib64',
      '/usr/local/cuda/targets/x86_64-linux/lib',
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib64',
      '/usr/lib',
    ],
    loaderCache: process.platform === 'linux' ? readLoaderCache() : [],
  };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * True when a CUDA session can plausibly start: the platform is one onnxruntime-node has a CUDA build for,
 * its CUDA provider library (libonnxruntime_providers_cuda.so / onnxruntime_providers_cuda.dll, fetched by
 * its install script) sits in its native folder, and the CUDA runtime and cuBLASLt (libcudart*, libcublasLt*
 * or cudart64_*.dll / cublasLt64_*.dll) are visible to the dynamic loader. cuDNN is not probed: when it is
 * missing, createSession's fallback catches the failure.
 */
export function detectCuda(probe: CudaProbe = defaultCudaProbe()): boolean {
  if (!CUDA_PLATFORMS.has(`${probe.platform}/${probe.arch}`)) return false;
  const win = probe.platform === 'win32';
  const ortFiles = listDir(probe.ortBinDir);
  const hasProvider = ortFiles.some((f) => (win ? /^onnxruntime_providers_cuda\.dll$/i : /^libonnxruntime_providers_cuda\.so/).test(f));
  if (!hasProvider) return false;
  const visible = new Set([...probe.loaderCache, ...probe.libraryDirs.flatMap(listDir)]);
  const has = (pattern: RegExp): boolean => [...visible].some((f) => pattern.test(f));
  return win ? has(/^cudart64_\d+\.dll$/i) && has(/^cublasLt64_\d+\.dll$/i) : has(/^libcudart\.so(\.\d+)*$/) && has(/^libcublasLt\.so(\.\d+)*$/);
}

// ---- sessions ----

export interface RuntimeLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

const stderrLogger: RuntimeLogger = {
  warn: (message, details) => process.stderr.write(`sieve: ${message}${details ? ` ${JSON.stringify(details)}` : ''}\n`),
};

export interface CreateSessionOptions {
  cacheDir: string;
  intraOpThreads?: number;
  /** Providers to try in order; default chooseExecutionProviders() for this machine. 'cpu' is always tried last. */
  providers?: ExecutionProviderConfig[];
  logger?: RuntimeLogger;
}

const createSessionOptionsSchema = z.object({
  cacheDir: z.string().min(1),
  intraOpThreads: z.number().int().positive().optional(),
});

function supportedBackends(): Set<string> {
  return new Set(ort.listSupportedBackends().map((b) => b.name));
}

/**
 * Opens an InferenceSession on the first provider that starts. Each accelerator is tried on its own (onnxruntime
 * still runs nodes it cannot take on its CPU kernels); one that is not in this build, or fails to start, is
 * logged with the reason and the next is tried, ending with 'cpu'. Returns the provider that served.
 */
export async function createSession(
  model: string | Uint8Array,
  options: CreateSessionOptions,
): Promise<{ session: ort.InferenceSession; provider: string }> {
  const opts = createSessionOptionsSchema.parse({ cacheDir: options.cacheDir, intraOpThreads: options.intraOpThreads });
  const logger = options.logger ?? stderrLogger;
  if (typeof model === 'string' && !existsSync(model)) {
    throw new SieveError('PATH_NOT_FOUND', `model file ${model} does not exist`, { path: model });
  }
  const chosen =
    options.providers ??
    chooseExecutionProviders({ platform: process.platform, arch: process.arch, cudaAvailable: detectCuda(), cacheDir: opts.cacheDir });
  const accelerators = chosen.filter((p) => providerName(p) !== 'cpu');
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.intraOpThreads ?? os.availableParallelism(),
    graphOptimizationLevel: 'all',
  };
  const available = supportedBackends();
  for (const provider of accelerators) {
    const name = providerName(provider);
    if (!available.has(name)) {
      // onnxruntime-common would drop it with a console warning and quietly run on CPU; say so ourselves.
      logger.warn(`execution provider '${name}' is not in this onnxruntime-node build; falling back`, { provider: name });
      continue;
    }
    try {
      const session = await createWith(model, { ...base, executionProviders: [provider] });
      logger.info?.(`using execution provider '${name}'`, { provider: name });
      return { session, provider: name };
    } catch (err) {
      logger.warn(`execution provider '${name}' failed to start; falling back`, {
        provider: name,
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }
  try {
    const session = await createWith(model, { ...base, executionProviders: ['cpu'] });
    return { session, provider: 'cpu' };
  } catch (err) {
    throw new SieveError('MODEL_INVALID', `onnxruntime could not load the model: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
  }
}

function createWith(model: string | Uint8Array, sessionOptions: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  return typeof model === 'string' ? ort.InferenceSession.create(model, sessionOptions) : ort.InferenceSession.create(model, sessionOptions);
}
