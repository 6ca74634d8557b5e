// node-mlx (@frost-beta/mlx) is loaded only when training needs it: its native module is ~16 MB and on Linux it
// pulls in BLAS/LAPACK, which ingest and ask must never depend on. Hence a lazy, cached dynamic import.
import { SieveError } from '../errors.js';

import type { core } from '../../types/frost-beta-mlx/index.js';

/**
 * The part of node-mlx sieve uses: its `core` ops. Typed from a vendored copy of the package's core declarations
 * (types/frost-beta-mlx) because the package's nn/optimizers modules ship as .ts sources that fail this
 * project's strict type check; sieve writes its own layers and optimizer on core ops instead.
 */
export interface Mlx {
  core: typeof core;
}

// A non-literal specifier keeps TypeScript from resolving (and type-checking) the package's own .ts sources.
const MLX_PACKAGE: string = '@frost-beta/mlx';

let loading: Promise<Mlx> | null = null;

/** The hint for the failure seen most: the Linux binary links libblas.so.3 / liblapack.so.3. */
function loadFailureMessage(reason: string, platform: string): string {
  const fix =
    platform === 'linux'
      ? 'On Linux node-mlx needs BLAS and LAPACK: run `apt-get install libopenblas0` (Debian/Ubuntu) and retry.'
      : platform === 'win32'
        ? 'node-mlx has no Windows build; train on macOS or Linux.'
        : 'Reinstall dependencies (`npm ci`) so node-mlx can fetch its native module.';
  return `could not load node-mlx (@frost-beta/mlx), needed for training: ${reason}. ${fix}`;
}

/**
 * Loads node-mlx once and returns its module ({ core, nn, optimizers, utils }). Throws SieveError('INTERNAL')
 * with the fix when the native module cannot load. A failed load is not cached, so a fixed system can retry.
 */
export function loadMlx(): Promise<Mlx> {
  if (!loading) {
    loading = (import(MLX_PACKAGE) as Promise<Mlx>).catch((err: unknown) => {
      loading = null;
      const reason = err instanceof Error ? err.message : String(err);
      throw new SieveError('INTERNAL', loadFailureMessage(reason, process.platform), { platform: process.platform, arch: process.arch }, { cause: err });
    });
  }
  return loading;
}

/** For tests: the message loadMlx throws for a given failure on a given platform. */
export const mlxLoadFailureMessage = loadFailureMessage;
