// The training job's child process: opens the home without an LLM, runs the job body, prints one JSON line.
import { openEngine } from '../engine.js';
import { DEFAULT_TRAIN_JOB, trainFromTraces, type TrainJobOptions } from './job.js';

const args = process.argv.slice(2);
const home = args[args.indexOf('--home') + 1];
const options = { ...DEFAULT_TRAIN_JOB, ...(JSON.parse(args[args.indexOf('--options') + 1] ?? '{}') as Partial<TrainJobOptions>) };
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
