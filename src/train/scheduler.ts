// Scheduled retraining: node-cron runs the training job (default nightly at 03:00 local time).
// Overlap is impossible twice over: node-cron's noOverlap, and the job's own lock file.
import cron from 'node-cron';
import type { Engine } from '../engine.js';
import { SieveError } from '../errors.js';
import { runTrainingJob, type TrainOutcome } from './job.js';

export interface Scheduler {
  stop(): Promise<void>;
}

export function startTrainingScheduler(engine: Engine, expression: string, onOutcome: (o: TrainOutcome | Error) => void): Scheduler | null {
  if (expression === 'off') return null;
  if (!cron.validate(expression)) {
    throw new SieveError('CONFIG_INVALID', `train.schedule ${JSON.stringify(expression)} is not a cron expression (e.g. "0 3 * * *"), or "off"`);
  }
  let running: Promise<void> = Promise.resolve();
  const task = cron.schedule(
    expression,
    () => {
      running = runTrainingJob(engine).then(onOutcome, (err: unknown) => onOutcome(err instanceof Error ? err : new Error(String(err))));
      return running;
    },
    { noOverlap: true, name: 'sieve-train' },
  );
  return {
    async stop() {
      await task.stop();
      await running; // a job in flight finishes (or fails) before shutdown completes
    },
  };
}
