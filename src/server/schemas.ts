// The HTTP boundary's schemas: request bodies are validated with them, and /openapi.json is generated from the
// same objects (request and response shapes), so the document cannot drift from what the routes accept.
import { z } from 'zod';

export interface RequestLimits {
  /** Longest question or search query, in characters. */
  maxQuestionChars: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxQuestionChars: 4000 };

const questionText = (limits: RequestLimits, field: string) =>
  z
    .string({ error: `${field} must be a string` })
    .min(1, `${field} must not be empty`)
    .max(limits.maxQuestionChars, `${field} is longer than ${limits.maxQuestionChars} characters; shorten it`);

/** The `paths` of a request that names files or folders under the --root folders (ingest, forget). */
const pathList = (what: string, description: string) =>
  z
    .array(z.string().min(1, 'a path must not be empty').max(4096))
    .min(1, `paths must name at least one ${what}`)
    .max(1000)
    .describe(description);

/** The part of the corpus a question is about (Scope in types.ts): the HTTP service and the MCP tools take it alike. */
export const ScopeSchema = z
  .object({
    sources: z
      .array(z.string().min(1, 'a source must not be empty').max(4096))
      .max(100)
      .optional()
      .describe("Ingested files or folders (absolute, or relative to the service's working directory): only their chunks are searched."),
    docIds: z.array(z.string().min(1).max(1000)).max(10_000).optional().describe('Document ids (a BEIR corpus _id, …): only their chunks are searched.'),
  })
  .strict()
  .describe('Search part of the corpus only; given both lists, a chunk must match both. A scope that holds no chunk is an error (SCOPE_EMPTY).');

/** Builds the request schemas once per server (limits are options); routes only ever call `.safeParse`. */
export function requestSchemas(limits: RequestLimits = DEFAULT_LIMITS) {
  const AskRequest = z
    .object({
      question: questionText(limits, 'question'),
      budgetTokens: z.number().int().min(16).max(1_000_000).optional().describe('Context token budget (default: the home config).'),
      stream: z.boolean().optional().describe('Stream the answer as server-sent events (also chosen by Accept: text/event-stream).'),
      scope: ScopeSchema.optional(),
    })
    .strict();

  const SearchRequest = z
    .object({
      query: questionText(limits, 'query'),
      k: z.number().int().min(1).max(1000).optional().describe('How many chunks (default 10).'),
      scope: ScopeSchema.optional(),
    })
    .strict();

  const IngestRequest = z
    .object({
      paths: pathList('file or folder', 'Files or folders inside the --root folders; relative paths are resolved against each root in turn.'),
      prune: z.boolean().optional().describe('Remove documents whose files are gone under these paths.'),
    })
    .strict();

  const ForgetRequest = z
    .object({
      paths: pathList(
        'ingested file or folder',
        'Ingested files or folders inside the --root folders (they need not exist on disk any more); relative paths are resolved against each root in turn.',
      ),
    })
    .strict();

  const FeedbackRequest = z
    .object({
      traceId: z.string().min(1).max(200),
      helpful: z.boolean().optional(),
      chunks: z
        .record(z.string().regex(/^[1-9]\d{0,5}$/, 'chunk keys are the [n] numbers shown (1, 2, …)'), z.enum(['up', 'down']))
        .optional()
        .describe('Per shown item [n]: "up" (useful) or "down" (not).'),
    })
    .strict();

  const ChatContentPart = z.object({ type: z.string(), text: z.string().optional() }).loose();
  const ChatMessageIn = z
    .object({
      role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
      content: z.union([z.string(), z.array(ChatContentPart), z.null()]).optional(),
    })
    .loose();
  const ChatCompletionRequest = z
    .object({
      model: z.string().optional().describe('Ignored: the configured LLM answers (its model name comes back).'),
      messages: z.array(ChatMessageIn).min(1, 'messages must hold at least one message').max(1000),
      stream: z.boolean().optional(),
      sieve: z
        .object({ budgetTokens: z.number().int().min(16).max(1_000_000).optional(), scope: ScopeSchema.optional() })
        .strict()
        .optional()
        .describe('sieve options: the context token budget, and the part of the corpus to answer from.'),
    })
    .loose();

  return { AskRequest, SearchRequest, IngestRequest, ForgetRequest, FeedbackRequest, ChatCompletionRequest };
}

export type RequestSchemas = ReturnType<typeof requestSchemas>;

// ---- response shapes (documentation; the engine's own types are what the routes return) ----

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), hint: z.string() }),
});

/** Pages of a PDF a passage lies on (1-based, inclusive). */
const PageSpanSchema = z.object({ first: z.number().int(), last: z.number().int() });

export const ContextItemSchema = z.object({
  n: z.number().int(),
  chunkId: z.number().int(),
  chunkIds: z.array(z.number().int()),
  docId: z.string(),
  source: z.string(),
  title: z.string(),
  headingPath: z.array(z.string()),
  pages: PageSpanSchema.optional(),
  text: z.string(),
  score: z.number(),
  tokenCount: z.number().int(),
  explored: z.boolean().optional(),
});

export const CitationSchema = z.object({ n: z.number().int(), chunkId: z.number().int(), docId: z.string() });

export const AskResultSchema = z.object({
  question: z.string(),
  answer: z.string(),
  context: z.array(ContextItemSchema),
  citations: z.array(CitationSchema),
  traceId: z.string(),
  answeredBy: z.enum(['llm', 'extractive']),
  models: z.record(z.string(), z.string()),
  timings: z.object({ retrieveMs: z.number(), rankMs: z.number(), selectMs: z.number(), answerMs: z.number(), totalMs: z.number() }),
});

export const SearchHitSchema = z.object({
  rank: z.number().int(),
  chunkId: z.number().int(),
  docId: z.string(),
  source: z.string(),
  title: z.string(),
  headingPath: z.array(z.string()),
  pages: PageSpanSchema.optional(),
  text: z.string(),
  snippet: z.object({ text: z.string(), highlights: z.array(z.tuple([z.number().int(), z.number().int()])) }),
  score: z.number(),
});
export const SearchResponse = z.object({ hits: z.array(SearchHitSchema) });

export const IngestSummarySchema = z
  .object({
    files: z.number().int(),
    documents: z.number().int(),
    chunks: z.number().int(),
    skipped: z.number().int(),
    removed: z.number().int(),
    moved: z.number().int(),
    problems: z.array(z.object({ path: z.string(), code: z.string(), message: z.string(), line: z.number().int().optional() })),
    seconds: z.number(),
  })
  .loose();

export const FeedbackResponse = z.object({ recorded: z.number().int() });

export const ForgetSummarySchema = z.object({ sources: z.number().int(), documents: z.number().int(), chunks: z.number().int() });

export const ActiveModels = z.object({ ranker: z.string(), embedder: z.string().optional() });
export const ModelRowSchema = z.object({
  id: z.string(),
  kind: z.enum(['embedder', 'relevance']),
  parent: z.string().nullable(),
  createdAt: z.string(),
  active: z.boolean(),
  metrics: z.record(z.string(), z.number()),
});
export const ModelsResponse = z.object({ active: ActiveModels, models: z.array(ModelRowSchema) });
export const ActivateResponse = z.object({ active: ActiveModels });

export const SourcesResponse = z.object({
  sources: z.array(z.object({ path: z.string(), ingestedAt: z.string(), documents: z.number().int(), chunks: z.number().int() })),
});

export const HealthResponse = z.object({ ok: z.literal(true), name: z.string(), version: z.string(), uptimeSeconds: z.number(), pid: z.number().int() });

export const SieveChatExtension = z.object({
  traceId: z.string(),
  answeredBy: z.enum(['llm', 'extractive']),
  citations: z.array(CitationSchema),
  context: z.array(ContextItemSchema),
});

export const ChatCompletionResponse = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string() }),
      finish_reason: z.string(),
    }),
  ),
  sieve: SieveChatExtension,
});

/** Formats a zod failure as one sentence naming the field. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'the request body is invalid';
  const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${issue.path.length ? ` in ${where}` : ''}`;
  if (issue.code === 'invalid_type') {
    if (issue.path.length === 0) return 'the request body must be a JSON object';
    if (/received undefined/.test(issue.message)) return `${where} is required`;
    return `${where} must be ${issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}`;
  }
  return issue.message.startsWith(where) ? issue.message : `${where}: ${issue.message}`;
}
