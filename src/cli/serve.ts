// `sieve serve`: the HTTP service. Options are parsed here; everything else is src/server/serve.ts.
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { SieveError } from '../errors.js';

const ServeFlags = z.object({
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  token: z.string().min(8, 'the token must be at least 8 characters').optional(),
  root: z.array(z.string().min(1)),
  log: z.boolean(),
  workers: z.number().int().min(1).max(64),
});

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('--port must be a whole number from 0 to 65535');
  return n;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP service: ask (SSE), search, ingest, feedback, models, OpenAI-compatible chat, metrics')
    .option('--port <n>', 'port (0 picks a free one)', port, 7700)
    .option('--host <addr>', 'address to bind; anything but loopback needs a token', '127.0.0.1')
    .option('--token <t>', 'require Authorization: Bearer <t> on every route but /healthz (or set SIEVE_TOKEN)')
    .option('--root <dir>', 'a folder POST /v1/ingest may read and POST /v1/forget may remove from the index (repeatable); without any, both are off', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--log', 'one line per request to stderr')
    .option('--workers <n>', 'serving processes sharing the port (each with its own engine; one per core helps throughput)', port, 1)
    .action(async (raw: { port: number; host: string; token?: string; root: string[]; log?: boolean; workers: number }, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<{ home: string }>();
      const token = raw.token ?? (process.env.SIEVE_TOKEN?.trim() || undefined);
      const parsed = ServeFlags.safeParse({ ...raw, token, log: raw.log ?? false });
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new SieveError('CONFIG_INVALID', `--${String(issue?.path[0] ?? 'option')}: ${issue?.message ?? 'invalid'}`);
      }
      const o = parsed.data;
      const { isServeWorker, serveWorkerIndex } = await import('../server/cluster.js');
      const event = (prefix: string) => (line: string) => process.stderr.write(`sieve serve${prefix}: ${line}\n`);
      if (o.workers > 1 && !isServeWorker()) {
        // The primary forks workers that run this same command line and only coordinates them.
        const { runServePrimary } = await import('../server/cluster.js');
        await runServePrimary({ workers: o.workers, host: o.host, token: o.token ?? null, onEvent: event('') });
        return;
      }
      const { serve } = await import('../server/serve.js');
      const { ServiceMetrics } = await import('../server/metrics.js');
      const metrics = new ServiceMetrics();
      const worker = isServeWorker() ? (await import('../server/cluster.js')).createWorkerLink(metrics) : null;
      const index = serveWorkerIndex();
      let service: Awaited<ReturnType<typeof serve>>;
      try {
        service = await serve({
          port: o.port,
          host: o.host,
          token: o.token ?? null,
          roots: o.root,
          log: o.log,
          engineOptions: { home },
          handleSignals: true,
          metrics,
          ...(worker ? { cluster: worker.hooks, onEvent: event(` worker ${index}`), ...(index === 0 ? {} : { schedule: 'off' }) } : {}),
        });
      } catch (err) {
        // A worker's IPC channel would keep it alive after the error is reported; let it go. A disconnect the worker
        // asks for (unlike one that just happens) does not force exit code 0, so the primary sees the real code.
        if (worker) (await import('node:cluster')).default.worker?.disconnect();
        throw err;
      }
      worker?.attach(service);
      // Keeps the command alive until a signal has shut the service down cleanly.
      await service.closed;
    });
}
