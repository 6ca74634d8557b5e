// Typed arrays that grow as they are filled: the in-memory indexes' build buffers, whose sizes are unknown until the
// corpus has been read. Typed, not JS arrays: at 360k chunks boxed numbers took gigabytes of heap.

/** A typed array that grows by doubling. */
export class Growable<A extends Int32Array | Uint16Array | Uint32Array | Float64Array> {
  length = 0;
  private data: A;

  constructor(private readonly make: (n: number) => A, capacity = 1024) {
    this.data = make(capacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = this.make(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  /** The filled part (a copy, so the spare capacity is freed with the buffer). */
  take(): A {
    return this.data.slice(0, this.length) as A;
  }

  /** The filled part without copying, for buffers read once and dropped. */
  view(): A {
    return this.data.subarray(0, this.length) as A;
  }
}
