// sieve's only public entry point.
export { openEngine, Engine } from './engine.js';
export type { AskOptions, OpenEngineOptions, RankingPipeline, SearchOptions } from './engine.js';
export { ConfigSchema, resolveConfig } from './config.js';
export type { SieveConfig, SieveConfigInput } from './config.js';
export { SieveError, isSieveError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { IngestSummary, IngestProgress } from './ingest/ingest.js';
export type { LlmConfig } from './llm/config.js';
export { createMcpServer, runMcpStdio } from './server/mcp.js';
export type { RunMcpStdioOptions } from './server/mcp.js';
export { evaluateBeir } from './train/evaluate.js';
export type { EvalReport } from './train/evaluate.js';
export type * from './types.js';
export { createServer } from './server/app.js';
export type { ServerOptions } from './server/app.js';
export { serve } from './server/serve.js';
export type { ServeOptions, RunningService } from './server/serve.js';
export type { AdaptOptions, AdaptResult } from './train/embedder/adapt.js';
