// One place that changes which model versions serve: activations over HTTP, and activations made elsewhere (the
// CLI's `sieve models activate`, a training job in another process), which a light poll of the registry notices.
// Swaps run one at a time, so the registry and the serving pipeline cannot end up disagreeing.
import type { Engine } from '../engine.js';
import { SieveError } from '../errors.js';
import { activateModel, activeModel, getModel } from '../train/registry.js';

export interface ActiveVersions {
  ranker: string;
  embedder?: string;
}

export class ModelSwitcher {
  private chain: Promise<unknown> = Promise.resolve();
  /** The registry's active ids the serving pipeline was last loaded from. */
  private loadedFrom: string;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly onEvent: (line: string) => void = () => undefined,
    /** Called after an activation made here (other processes serving the same home can then sync at once). */
    private readonly onActivated: () => void = () => undefined,
  ) {
    this.loadedFrom = this.registryState();
  }

  /** The active ids in the registry, as one comparable string. */
  private registryState(): string {
    const { store, config } = this.engine;
    return `${activeModel(store, config.home, 'relevance')?.id ?? ''}|${activeModel(store, config.home, 'embedder')?.id ?? ''}`;
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reload(): Promise<ActiveVersions> {
    this.loadedFrom = this.registryState();
    const loaded = await this.engine.reloadModels();
    return { ranker: loaded.ranker ?? this.engine.stats().ranker, ...(loaded.embedder ? { embedder: loaded.embedder } : {}) };
  }

  /** Activates a registered version and hot-swaps it in; requests in flight finish on the old pipeline. */
  activate(id: string): Promise<ActiveVersions> {
    return this.serialised(async () => {
      const { store, config } = this.engine;
      if (!getModel(store, config.home, id)) throw new SieveError('MODEL_NOT_FOUND', `no model version ${JSON.stringify(id)}`);
      activateModel(store, config.home, id);
      const versions = await this.reload();
      this.onActivated();
      return versions;
    });
  }

  /** Reloads when the registry's active versions changed since the last load (by anyone). */
  syncWithRegistry(): Promise<boolean> {
    return this.serialised(async () => {
      if (!this.engine.store.db.open || this.registryState() === this.loadedFrom) return false;
      const versions = await this.reload();
      this.onEvent(`model versions activated elsewhere; now serving ranker ${versions.ranker}${versions.embedder ? `, embedder ${versions.embedder}` : ''}`);
      return true;
    });
  }

  /** Records that someone else already loaded the registry's current versions (the training job hot-swaps itself). */
  noteLoaded(): Promise<void> {
    return this.serialised(async () => {
      this.loadedFrom = this.registryState();
    });
  }

  /** Polls the registry every `ms` (one indexed query each time). */
  watch(ms: number): void {
    if (ms <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.syncWithRegistry().catch((err: unknown) => this.onEvent(`model reload failed: ${err instanceof Error ? err.message : String(err)}`));
    }, ms);
    this.timer.unref();
  }

  /** Stops polling and waits for a swap in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
  }
}
