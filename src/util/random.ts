// A small seeded PRNG (mulberry32) so that splits, shuffles, exploration and simulations replay exactly
// for a seed. Not cryptographic; 32 bits of state is plenty for data splits and sampling.

export class SeededRandom {
  private state: number;

  /** Any finite number; it is reduced to 32 bits (so seeds differing by a multiple of 2^32 coincide). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.state = Math.trunc(seed) >>> 0;
  }

  /** The next raw 32-bit unsigned integer (mulberry32 step). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). Rejection sampling keeps it unbiased for any n ≤ 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    // Largest multiple of n that fits in 2^32; draws at or above it would favour small residues.
    const limit = 4294967296 - (4294967296 % n);
    let draw = this.nextUint32();
    while (draw >= limit) draw = this.nextUint32();
    return draw % n;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const held = array[i] as T;
      array[i] = array[j] as T;
      array[j] = held;
    }
    return array;
  }

  /** k distinct elements (by position) drawn without replacement, in random order; the input is not changed. */
  sample<T>(array: readonly T[], k: number): T[] {
    if (!Number.isInteger(k) || k < 0 || k > array.length) {
      throw new RangeError(`sample size must be an integer in [0, ${array.length}], got ${k}`);
    }
    const pool = [...array];
    // Partial Fisher–Yates: only the first k positions need settling.
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(pool.length - i);
      const held = pool[i] as T;
      pool[i] = pool[j] as T;
      pool[j] = held;
    }
    return pool.slice(0, k);
  }
}
