import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { createMcpServer } from '../src/server/mcp.js';
import { EXAMPLES, REPO_ROOT, tempDir } from './helpers/tmp.js';

const tmp = tempDir('mcp');
const home = join(tmp.dir, 'home');
let engine: Engine;
let client: Client;

function text(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

beforeAll(async () => {
  engine = await openEngine({ home, llm: null });
  await engine.ingest([EXAMPLES]);
  const server = createMcpServer(engine);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'sieve-test', version: '0.0.0' });
  await client.connect(clientSide);
});

afterAll(async () => {
  await client?.close();
  engine?.close();
  tmp.cleanup();
});

describe('MCP server (in-memory transport)', () => {
  it('lists the search, ask and feedback tools with their input schemas', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['ask', 'feedback', 'search']);
    const ask = tools.find((t) => t.name === 'ask')!;
    expect(ask.inputSchema.required).toEqual(['question']);
    expect(Object.keys(ask.inputSchema.properties ?? {}).sort()).toEqual(['budgetTokens', 'question', 'scope']);
    expect(Object.keys(tools.find((t) => t.name === 'search')!.inputSchema.properties ?? {}).sort()).toEqual(['k', 'query', 'scope']);
    expect(tools.find((t) => t.name === 'feedback')!.inputSchema.required).toEqual(['traceId']);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(client.getServerVersion()).toMatchObject({ name: 'sieve', version: pkg.version });
  });

  it('search returns numbered hits with sources, as text and structured content', async () => {
    const r = await call('search', { query: 'FTS5 field weights title', k: 3 });
    expect(r.isError).toBeFalsy();
    const { hits } = r.structuredContent as { hits: Array<{ rank: number; source: string; text: string }> };
    expect(hits.map((h) => h.rank)).toEqual([1, 2, 3]);
    expect(hits[0]!.source).toMatch(/retrieval\.html$/);
    expect(text(r)).toMatch(/^1\. .*retrieval\.html/);
  });

  it('search takes a scope: hits from those sources only', async () => {
    const faq = join(EXAMPLES, 'faq.txt');
    const r = await call('search', { query: 'FTS5 field weights title GPU', k: 3, scope: { sources: [faq] } });
    expect(r.isError).toBeFalsy();
    const { hits } = r.structuredContent as { hits: Array<{ source: string }> };
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.source).toBe(faq);
  });

  it('ask answers with numbered cited context and a traceId; feedback on it is stored', async () => {
    const r = await call('ask', { question: 'What does a used chunk become for the relevance model?', budgetTokens: 400 });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as {
      answer: string;
      traceId: string;
      answeredBy: string;
      context: Array<{ n: number; cited: boolean; tokenCount: number }>;
      citations: Array<{ n: number }>;
    };
    expect(s.answeredBy).toBe('extractive');
    expect(s.context[0]!.n).toBe(1);
    expect(s.context.reduce((sum, c) => sum + c.tokenCount, 0)).toBeLessThanOrEqual(400);
    expect(s.citations.length).toBeGreaterThan(0);
    expect(s.context.filter((c) => c.cited).map((c) => c.n)).toEqual(s.citations.map((c) => c.n).sort((a, b) => a - b));
    expect(text(r)).toContain(s.answer);
    expect(text(r)).toContain(`traceId: ${s.traceId}`);
    expect(text(r)).toMatch(/\[1\]/);

    const fb = await call('feedback', { traceId: s.traceId, helpful: true, chunks: { '1': 'up' } });
    expect(fb.isError).toBeFalsy();
    expect(fb.structuredContent).toEqual({ recorded: 2 });
    const rows = engine.store.db
      .prepare(`SELECT n, label, helpful FROM feedback WHERE trace_id = ? ORDER BY id`)
      .all(s.traceId) as Array<{ n: number | null; label: string | null; helpful: number | null }>;
    expect(rows).toEqual([
      { n: null, label: null, helpful: 1 },
      { n: 1, label: 'up', helpful: null },
    ]);
  });

  it('bad input comes back as a tool error with the code and a hint, and stores nothing', async () => {
    const before = (engine.store.db.prepare(`SELECT COUNT(*) AS n FROM feedback`).get() as { n: number }).n;

    const empty = await call('ask', { question: '?!' });
    expect(empty.isError).toBe(true);
    expect(text(empty)).toMatch(/\[QUESTION_EMPTY\]/);
    expect(text(empty)).toMatch(/hint: /);

    const unknownTrace = await call('feedback', { traceId: 'no-such-trace', helpful: false });
    expect(unknownTrace.isError).toBe(true);
    expect(text(unknownTrace)).toMatch(/no trace "no-such-trace"/);

    const missing = await call('search', {});
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/query/);

    const badLabel = await call('feedback', { traceId: 'x', chunks: { '1': 'sideways' } });
    expect(badLabel.isError).toBe(true);

    const traceId = ((await call('ask', { question: 'How is the token budget used?' })).structuredContent as { traceId: string }).traceId;
    const outOfRange = await call('feedback', { traceId, chunks: { '99': 'up' } });
    expect(outOfRange.isError).toBe(true);
    expect(text(outOfRange)).toMatch(/there is no \[99\]/);

    const after = (engine.store.db.prepare(`SELECT COUNT(*) AS n FROM feedback`).get() as { n: number }).n;
    expect(after).toBe(before);
  });
});

describe('sieve mcp over stdio', () => {
  it('serves the tools to a client that spawned it, with nothing but protocol on stdout', async () => {
    const transport = new StdioClientTransport({
      command: 'npx',
      args: ['tsx', 'src/cli/main.ts', 'mcp', '--home', home],
      cwd: REPO_ROOT,
      env: { ...(process.env as Record<string, string>), SIEVE_LLM_BASE_URL: '' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const stdio = new Client({ name: 'sieve-stdio-test', version: '0.0.0' });
    // A non-JSON line on stdout would surface here as a transport error.
    const transportErrors: Error[] = [];
    stdio.onerror = (e) => transportErrors.push(e);
    await stdio.connect(transport);
    try {
      const { tools } = await stdio.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['ask', 'feedback', 'search']);
      const r = (await stdio.callTool({ name: 'ask', arguments: { question: 'How does sieve decide which chunks an answer used?' } })) as CallToolResult;
      expect(r.isError).toBeFalsy();
      const { traceId } = r.structuredContent as { traceId: string };
      const fb = (await stdio.callTool({ name: 'feedback', arguments: { traceId, chunks: { '1': 'down' } } })) as CallToolResult;
      expect(fb.structuredContent).toEqual({ recorded: 1 });
      expect(transportErrors).toEqual([]);
      expect(stderr).toMatch(/MCP server on stdio/);
    } finally {
      await stdio.close();
    }
    // The child wrote to the same database file: its feedback is there.
    const row = engine.store.db.prepare(`SELECT label FROM feedback WHERE n = 1 AND label = 'down'`).get() as { label: string } | undefined;
    expect(row?.label).toBe('down');
  });
});
