// sieve as a Model Context Protocol server: an agent searches, asks (getting numbered, cited context and a
// traceId) and sends feedback on what helped, so the loop learns from agents as it does from people.
// Validation of tool arguments is zod (the SDK turns a failed parse into a tool error); everything else is the
// engine's. Over stdio, stdout carries the protocol only: logs go to stderr.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CitationSchema, ContextItemSchema, ScopeSchema, SearchHitSchema } from './schemas.js';
import { openEngine, type Engine } from '../engine.js';
import { toSieveError } from '../errors.js';
import type { AskResult, ContextItem, SearchHit } from '../types.js';
import { passageLocation as where } from '../util/pages.js';
import { packageInfo } from '../util/version.js';

const SearchInput = {
  query: z.string().min(1).describe('What to look for, in words'),
  k: z.number().int().min(1).max(100).optional().describe('How many ranked chunks to return (default 10)'),
  scope: ScopeSchema.optional(),
};

const AskInput = {
  question: z.string().min(1).describe('The question to answer from the indexed documents'),
  budgetTokens: z.number().int().min(16).max(1_000_000).optional().describe('Token budget for the context (default from config, 1500)'),
  scope: ScopeSchema.optional(),
};

const FeedbackInput = {
  traceId: z.string().min(1).describe('The traceId an `ask` returned'),
  helpful: z.boolean().optional().describe('Was the answer helpful as a whole?'),
  chunks: z
    .record(z.string().regex(/^[1-9]\d*$/, 'keys are context item numbers: "1", "2", …'), z.enum(['up', 'down']))
    .optional()
    .describe('Per numbered context item [n]: "up" (it was useful) or "down" (it was not), e.g. {"2": "up"}'),
};

// The same shapes the HTTP API answers with (schemas.ts); ask's context items add whether the answer cited them.
const ContextOutput = ContextItemSchema.extend({ cited: z.boolean() });

const SearchOutput = { hits: z.array(SearchHitSchema) };
const AskOutput = {
  answer: z.string(),
  context: z.array(ContextOutput),
  citations: z.array(CitationSchema),
  traceId: z.string(),
  answeredBy: z.enum(['llm', 'extractive']),
  models: z.record(z.string(), z.string()),
};
const FeedbackOutput = { recorded: z.number() };


export function formatSearchText(hits: SearchHit[]): string {
  if (hits.length === 0) return 'No matches.';
  return hits.map((h) => `${h.rank}. ${where(h)} (${h.source}, score ${h.score.toFixed(3)})\n${h.text}`).join('\n\n');
}

export function formatAskText(r: AskResult): string {
  const cited = new Set(r.citations.map((c) => c.n));
  const items = r.context.map((c: ContextItem) => `[${c.n}]${cited.has(c.n) ? ' (cited)' : ''} ${where(c)} (${c.source})\n${c.text}`);
  return [
    r.answer,
    '',
    'Context:',
    items.join('\n\n'),
    '',
    `traceId: ${r.traceId}`,
    'Send feedback with the `feedback` tool: { traceId, helpful?, chunks?: { "<n>": "up" | "down" } }.',
  ].join('\n');
}

/** A tool error the agent can act on: the code, what happened and what to do. Never a protocol-level crash. */
function toolError(err: unknown): CallToolResult {
  const e = toSieveError(err);
  return {
    isError: true,
    // Text only: clients check any structuredContent against the tool's output schema, errors included.
    content: [{ type: 'text', text: `sieve error [${e.code}]: ${e.message}\nhint: ${e.hint}` }],
  };
}

async function guarded(fn: () => Promise<CallToolResult> | CallToolResult): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (err) {
    return toolError(err);
  }
}

/** An MCP server exposing the engine's search, ask and feedback as tools. The caller owns the engine. */
export function createMcpServer(engine: Engine): McpServer {
  const server = new McpServer({ name: 'sieve', version: packageInfo().version });

  server.registerTool(
    'search',
    {
      title: 'Search the indexed documents',
      description: 'Ranked chunks of the indexed documents for a query, without answering. Each hit has its source file.',
      inputSchema: SearchInput,
      outputSchema: SearchOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ query, k, scope }) =>
      guarded(async () => {
        const hits = await engine.search(query, { ...(k === undefined ? {} : { k }), scope });
        return { content: [{ type: 'text', text: formatSearchText(hits) }], structuredContent: { hits } };
      }),
  );

  server.registerTool(
    'ask',
    {
      title: 'Ask a question',
      description:
        'Answers a question from the indexed documents with numbered context [1]..[n] and the answer citing it. ' +
        'Returns a traceId: send `feedback` on which context items helped so sieve learns to rank better.',
      inputSchema: AskInput,
      outputSchema: AskOutput,
      annotations: { readOnlyHint: false, openWorldHint: false },
    },
    ({ question, budgetTokens, scope }) =>
      guarded(async () => {
        const r = await engine.ask(question, { ...(budgetTokens === undefined ? {} : { budgetTokens }), scope });
        const cited = new Set(r.citations.map((c) => c.n));
        return {
          content: [{ type: 'text', text: formatAskText(r) }],
          structuredContent: {
            answer: r.answer,
            context: r.context.map((c) => ({ ...c, cited: cited.has(c.n) })),
            citations: r.citations,
            traceId: r.traceId,
            answeredBy: r.answeredBy,
            models: r.models,
          },
        };
      }),
  );

  server.registerTool(
    'feedback',
    {
      title: 'Feedback on an answer',
      description:
        'Tells sieve whether an `ask` answer helped and which numbered context items were useful ("up") or not ("down"). ' +
        'Explicit feedback outranks what sieve inferred from the answer.',
      inputSchema: FeedbackInput,
      outputSchema: FeedbackOutput,
      annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ traceId, helpful, chunks }) =>
      guarded(() => {
        const labels = chunks ? Object.fromEntries(Object.entries(chunks).map(([n, label]) => [Number(n), label])) : undefined;
        const { recorded } = engine.feedback(traceId, {
          ...(helpful === undefined ? {} : { helpful }),
          ...(labels ? { chunks: labels } : {}),
        });
        return { content: [{ type: 'text', text: `recorded ${recorded} feedback ${recorded === 1 ? 'entry' : 'entries'} for trace ${traceId}` }], structuredContent: { recorded } };
      }),
  );

  return server;
}

export interface RunMcpStdioOptions {
  home: string;
}

/**
 * Serves MCP over this process's stdin/stdout until stdin closes or a signal arrives, then closes the engine.
 * Anything that would print to stdout (console.log in a dependency) is sent to stderr instead: one stray line
 * on stdout breaks the client's JSON-RPC stream.
 */
export async function runMcpStdio(opts: RunMcpStdioOptions): Promise<void> {
  console.log = console.error;
  console.info = console.error;
  const engine = await openEngine({ home: opts.home });
  engine.log = (line) => process.stderr.write(`sieve: ${line}\n`);
  const server = createMcpServer(engine);
  const transport = new StdioServerTransport();
  let closed = false;
  const done = new Promise<void>((resolveDone) => {
    const shutdown = () => {
      if (closed) return;
      closed = true;
      server
        .close()
        .catch(() => undefined)
        .finally(() => {
          engine.close();
          resolveDone();
        });
    };
    process.stdin.once('end', shutdown);
    process.stdin.once('close', shutdown);
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
    transport.onclose = shutdown;
  });
  await server.connect(transport);
  process.stderr.write(`sieve: MCP server on stdio (home ${engine.config.home})\n`);
  await done;
}
