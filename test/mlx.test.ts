import { afterEach, describe, expect, it, vi } from 'vitest';
import { SieveError } from '../src/errors.js';
import { loadMlx, mlxLoadFailureMessage } from '../src/train/mlx.js';

// Known least-squares problem: X (3×2), y (3), w (2). Loss f(w) = Σ (Xw − y)², gradient 2·Xᵀ(Xw − y).
const X = [
  [1, 2],
  [3, 4],
  [5, 6],
];
const Y = [1, 2, 3];

function residuals(w: number[]): number[] {
  return X.map((row, i) => row[0]! * w[0]! + row[1]! * w[1]! - Y[i]!);
}
function analyticLoss(w: number[]): number {
  return residuals(w).reduce((a, r) => a + r * r, 0);
}
function analyticGrad(w: number[]): number[] {
  const r = residuals(w);
  return [0, 1].map((j) => 2 * X.reduce((a, row, i) => a + row[j]! * r[i]!, 0));
}

describe('loadMlx', () => {
  afterEach(() => {
    vi.doUnmock('@frost-beta/mlx');
    vi.resetModules();
  });

  it('loads node-mlx from its bundled binary, once', async () => {
    const first = await loadMlx();
    const second = await loadMlx();
    expect(second).toBe(first);
    expect(typeof first.core.array).toBe('function');
  });

  it('computes a value and gradient that match the analytic ones', async () => {
    const { core: mx } = await loadMlx();
    const w0 = [0.5, -0.25];
    const x = mx.array(X);
    const y = mx.array(Y);
    const loss = (w: InstanceType<typeof mx.array>) => mx.sum(mx.square(mx.subtract(mx.matmul(x, w), y)));
    const [value, grad] = mx.valueAndGrad(loss)(mx.array(w0));
    expect(value.item() as number).toBeCloseTo(analyticLoss(w0), 5);
    const g = grad.tolist() as number[];
    const expected = analyticGrad(w0);
    expect(g[0]).toBeCloseTo(expected[0]!, 4);
    expect(g[1]).toBeCloseTo(expected[1]!, 4);
    // Sanity on the analytic side too: residuals [-1, -1.5, -2] give 7.25 and [-31, -40].
    expect(analyticLoss(w0)).toBeCloseTo(7.25, 10);
    expect(expected).toEqual([-31, -40]);
  });

  it('reduces the loss with a few SGD steps', async () => {
    const { core: mx } = await loadMlx();
    const x = mx.array(X);
    const y = mx.array(Y);
    const lossAndGrad = mx.valueAndGrad((w: InstanceType<typeof mx.array>) => mx.sum(mx.square(mx.subtract(mx.matmul(x, w), y))));
    let w = mx.array([0.5, -0.25]);
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      const [loss, grad] = lossAndGrad(w);
      losses.push(loss.item() as number);
      w = mx.subtract(w, mx.multiply(grad, mx.array(0.005)));
    }
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]!);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 10);
    // The mlx result agrees with plain gradient descent computed here.
    let wRef = [0.5, -0.25];
    for (let step = 0; step < 20; step++) {
      const gr = analyticGrad(wRef);
      wRef = [wRef[0]! - 0.005 * gr[0]!, wRef[1]! - 0.005 * gr[1]!];
    }
    const wFinal = w.tolist() as number[];
    expect(wFinal[0]).toBeCloseTo(wRef[0]!, 4);
    expect(wFinal[1]).toBeCloseTo(wRef[1]!, 4);
  });

  it('turns a native load failure into an INTERNAL SieveError that says how to fix it', async () => {
    vi.resetModules();
    vi.doMock('@frost-beta/mlx', () => {
      throw new Error('liblapack.so.3: cannot open shared object file: No such file or directory');
    });
    const fresh = await import('../src/train/mlx.js');
    // resetModules gave mlx.js a fresh errors.js too, so compare against that module's class.
    const freshErrors = await import('../src/errors.js');
    const err = await fresh.loadMlx().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(freshErrors.SieveError);
    const sieveErr = err as SieveError;
    expect(sieveErr.code).toBe('INTERNAL');
    // The loader's own error (vitest wraps the factory's throw) is quoted and kept as the cause.
    expect(sieveErr.cause).toBeInstanceOf(Error);
    expect(sieveErr.message).toContain((sieveErr.cause as Error).message);
    const fixForThisPlatform = mlxLoadFailureMessage('REASON', process.platform).split('REASON. ')[1]!;
    expect(sieveErr.message).toContain(fixForThisPlatform);
    expect(sieveErr.details).toEqual({ platform: process.platform, arch: process.arch });
  });

  it('tells Linux users to install libopenblas0', () => {
    const message = mlxLoadFailureMessage('liblapack.so.3: cannot open shared object file', 'linux');
    expect(message).toContain('apt-get install libopenblas0');
    expect(message).toContain('liblapack.so.3');
    expect(mlxLoadFailureMessage('x', 'darwin')).not.toContain('apt-get');
  });
});
