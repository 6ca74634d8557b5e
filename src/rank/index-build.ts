// How the in-memory indexes (the BM25 postings, the term statistics) are built from the store's chunks: all at once,
// or a page at a time between requests for a corpus too large to build inside one; and the one background
// rebuild each cache may have running.
import { chunkTextPages, generations, type ChunkText } from '../store/history.js';
import type { Store } from '../store/store.js';

/** Chunks up to which a stale index is rebuilt in the request that needs it (about 1 s on this machine). */
export const SYNC_BUILD_MAX_CHUNKS = 20_000;

/** Takes the chunks one by one, then makes the index of the generation it was started for. */
export interface ChunkIndexBuilder<T> {
  add(chunk: ChunkText): void;
  finish(): T;
}

/** Reads every chunk of the store, a page at a time, into a builder started for the current generation (blocking). */
export function buildFromChunks<T>(store: Store, start: (generation: number) => ChunkIndexBuilder<T>): T {
  const builder = start(generations(store).chunks);
  for (const page of chunkTextPages(store)) for (const chunk of page) builder.add(chunk);
  return builder.finish();
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The same build, yielding to the event loop after every page, so a service keeps answering while a large corpus
 * is indexed. Null when the store was closed (the engine shut down) or its chunks changed meanwhile.
 */
export async function buildFromChunksInSlices<T>(
  store: Store,
  start: (generation: number) => ChunkIndexBuilder<T>,
  yieldNow: () => Promise<void> = nextTurn,
): Promise<T | null> {
  const generation = generations(store).chunks;
  const builder = start(generation);
  for (const page of chunkTextPages(store)) {
    for (const chunk of page) builder.add(chunk);
    await yieldNow();
    if (!store.db.open || generations(store).chunks !== generation) return null;
  }
  return builder.finish();
}

/** At most one background build at a time; what it makes is handed to `done`, what it fails on is absorbed. */
export class BackgroundBuild<T> {
  private running: Promise<void> | null = null;

  get busy(): boolean {
    return this.running !== null;
  }

  /**
   * Starts `build` unless one is running. A null result (the store moved on) or a failure leaves things as they
   * were, the previous index serving; the next stale request starts another. Never an unhandled rejection.
   */
  start(build: () => Promise<T | null>, done: (result: T) => void): void {
    this.running ??= build()
      .then((result) => {
        if (result !== null) done(result);
      })
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
      });
  }

  /** Resolves when no build is running (tests, and callers that want the index before they go on). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }
}
