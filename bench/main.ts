// `npm run -s bench -- <name> [options]`: the benchmarks. Speed and memory targets live here, never in unit tests.
// Each prints a human summary to stderr and, with --json, one JSON object to stdout.
import { Command } from 'commander';
import { benchAsk } from './ask.js';
import { benchIngest } from './ingest.js';

const program = new Command('bench').description('sieve benchmarks');

program
  .command('ingest')
  .description('ingest a BEIR corpus into a fresh home, then again unchanged')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--home <dir>', 'home to use (default: a fresh temp folder)')
  .option('--json', 'print JSON')
  .action(async (o: { data: string; home?: string; json?: boolean }) => out(await benchIngest(o), o.json));

program
  .command('ask')
  .description('ask every query of a split with no LLM; latency percentiles of the whole ask')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--split <name>', 'split', 'test')
  .option('--home <dir>', 'home (ingested if needed)')
  .option('--budget <n>', 'budget tokens', (v) => Number(v), 1500)
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; home?: string; budget: number; json?: boolean }) => out(await benchAsk(o), o.json));

function out(result: object, json?: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
}

await program.parseAsync(process.argv);
