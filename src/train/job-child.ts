// The training job's child process: opens the home without an LLM, runs the job body, prints one JSON line.
import { openEngine } from '../engine.js';
import { trainFromTraces, trainJobOptions, type TrainJobInput } from './job.js';

const args = process.argv.slice(2);
const home = args[args.indexOf('--home') + 1];
const options = trainJobOptions(JSON.parse(args[args.indexOf('--options') + 1] ?? '{}') as TrainJobInput);
if (!home) {
  process.stderr.write('job-child: --home is required\n');
  process.exit(2);
}
const engine = await openEngine({ home, llm: null });
try {
  const outcome = await trainFromTraces(engine, options);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
} finally {
  engine.close();
}
