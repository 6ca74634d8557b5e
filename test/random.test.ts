import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/util/random.js';

function draws(seed: number, count: number): number[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => random.nextUint32());
}

describe('SeededRandom', () => {
  it('replays the same sequence for the same seed', () => {
    expect(draws(42, 50)).toEqual(draws(42, 50));
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    expect([a.nextFloat(), a.nextInt(10), a.shuffle([1, 2, 3, 4, 5]), a.sample(['p', 'q', 'r', 's'], 2)]).toEqual([
      b.nextFloat(),
      b.nextInt(10),
      b.shuffle([1, 2, 3, 4, 5]),
      b.sample(['p', 'q', 'r', 's'], 2),
    ]);
  });

  it('gives different sequences for different seeds, including 0', () => {
    expect(draws(1, 20)).not.toEqual(draws(2, 20));
    expect(draws(0, 20)).not.toEqual(draws(1, 20));
    expect(new Set(draws(0, 1000)).size).toBeGreaterThan(990); // seed 0 does not get stuck
  });

  it('produces floats in [0, 1) and integers in [0, n) roughly uniformly', () => {
    const random = new SeededRandom(123);
    const buckets = new Array<number>(10).fill(0);
    let sum = 0;
    let outOfRange = 0;
    const count = 100_000;
    for (let i = 0; i < count; i++) {
      const value = random.nextFloat();
      if (!(value >= 0 && value < 1)) outOfRange += 1;
      sum += value;
      const index = random.nextInt(10);
      buckets[index] = (buckets[index] ?? 0) + 1;
    }
    expect(outOfRange).toBe(0);
    expect(sum / count).toBeGreaterThan(0.49);
    expect(sum / count).toBeLessThan(0.51);
    // expected 10,000 per bucket, standard deviation ≈ 95; ±500 is over 5σ
    for (const bucket of buckets) expect(Math.abs(bucket - count / 10)).toBeLessThan(500);
  });

  it('rejects bad bounds', () => {
    const random = new SeededRandom(1);
    expect(() => random.nextInt(0)).toThrow(RangeError);
    expect(() => random.nextInt(2.5)).toThrow(RangeError);
    expect(() => random.sample([1, 2], 3)).toThrow(RangeError);
    expect(() => new SeededRandom(Number.NaN)).toThrow(RangeError);
  });

  it('shuffles in place into a permutation, and actually moves things', () => {
    const random = new SeededRandom(9);
    const original = Array.from({ length: 100 }, (_, i) => i);
    const array = [...original];
    const returned = random.shuffle(array);
    expect(returned).toBe(array);
    expect([...array].sort((a, b) => a - b)).toEqual(original);
    expect(array).not.toEqual(original);
    expect(random.shuffle([])).toEqual([]);
    expect(random.shuffle(['only'])).toEqual(['only']);
  });

  it('shuffles every position roughly uniformly', () => {
    // where element 0 of [0, 1, 2, 3] ends up over 40,000 shuffles: 10,000 expected per position, σ ≈ 87
    const random = new SeededRandom(5);
    const landed = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) {
      const position = random.shuffle([0, 1, 2, 3]).indexOf(0);
      landed[position] = (landed[position] ?? 0) + 1;
    }
    for (const count of landed) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('samples k distinct elements without changing the input', () => {
    const random = new SeededRandom(3);
    const population = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const copy = [...population];
    const picked = random.sample(population, 4);
    expect(picked).toHaveLength(4);
    expect(new Set(picked).size).toBe(4);
    for (const item of picked) expect(population).toContain(item);
    expect(population).toEqual(copy);
    expect(random.sample(population, 0)).toEqual([]);
    expect([...random.sample(population, 7)].sort()).toEqual(copy);
  });
});
