// `sieve train embedder`: adapt the serving embedder to this home's corpus (see train/embedder/adapt.ts).
// Progress goes to stderr; --json prints the result alone on stdout.
import { InvalidArgumentError, type Command } from 'commander';
import { openEngine } from '../engine.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

function wholeNumber(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

interface TrainEmbedderCliOptions {
  data?: string;
  split: string;
  steps?: number;
  epochs?: number;
  batch?: number;
  seed: number;
  fresh?: boolean;
  supervisedFraction?: number;
  maxPassageWords?: number;
  hardNegatives?: number;
  lexicalResidual?: number;
  temperature?: number;
  titleFraction?: number;
  json?: boolean;
}

/** A number in [min, max], or in (min, max] when `aboveMin`; commander reports the message as the option's error. */
function numberIn(name: string, min: number, max: number, aboveMin = false) {
  return (value: string): number => {
    const x = Number(value);
    if (!Number.isFinite(x) || (aboveMin ? x <= min : x < min) || x > max) {
      throw new InvalidArgumentError(aboveMin ? `${name} must be a number above ${min} and at most ${max}` : `${name} must be a number from ${min} to ${max}`);
    }
    return x;
  };
}

const fraction = (name: string) => numberIn(name, 0, 1);

export function registerTrainEmbedderCommand(train: Command): void {
  train
    .command('embedder')
    .description(
      'adapt the embedder to this corpus: continue the active (or shipped) embedder with its recipe on inverse-cloze pairs from the store, ' +
        'plus a BEIR split when --data is given; evaluate on a held-out slice, register, activate, rebuild the vector index',
    )
    .option('--data <dir>', 'BEIR folder whose qrels add supervised (query, passage) pairs')
    .option('--split <name>', 'qrels split for --data (never a test split)', 'train')
    .option('--steps <n>', 'training steps (default 500)', wholeNumber('--steps', 1))
    .option('--epochs <n>', 'passes over the training data instead of --steps: over --data\'s pairs (which fill --supervised-fraction of the batches), else over the corpus\'s chunks', numberIn('--epochs', 0, 100_000, true))
    .option('--batch <n>', "pairs per batch (default: the parent's recipe)", wholeNumber('--batch', 2))
    .option('--seed <n>', 'random seed (data split, batches)', wholeNumber('--seed', 0), 1)
    .option('--supervised-fraction <x>', "share of batches from --data's pairs (default: the parent's recipe, else 0.3); the rest are inverse-cloze pairs from the corpus", fraction('--supervised-fraction'))
    .option('--max-passage-words <n>', 'words of a passage seen in training (default 128; serving embeds up to the longest length bucket, 256 for the shipped model)', wholeNumber('--max-passage-words', 8))
    .option('--hard-negatives <n>', "BM25-ranked wrong passages kept per --data pair, one drawn into each batch it is in (default: the parent's recipe, 5 for the shipped model; 0 for none)", wholeNumber('--hard-negatives', 0))
    .option(
      '--lexical-residual <x>',
      "train against the served hybrid: BM25's weight in the training logits (1 = as the fusion serves it, 0 = plain contrastive; default: the parent's recipe, else 0). " +
        'Measured on SQuAD: no gain over 0 (docs/BENCHMARKS.md)',
      numberIn('--lexical-residual', 0, 10),
    )
    .option('--temperature <t>', "InfoNCE temperature (default: the parent's recipe, 0.05 for the shipped model)", numberIn('--temperature', 0, 1, true))
    .option('--title-fraction <x>', "share of inverse-cloze samples that pair a document's title with its body (default: the parent's recipe, 0.2)", fraction('--title-fraction'))
    .option('--fresh', "start from fresh weights with the parent's architecture instead of continuing its weights")
    .option('--json', 'print the result as JSON')
    .action(async (opts: TrainEmbedderCliOptions, cmd: Command) => {
      const { home } = cmd.optsWithGlobals<{ home: string }>();
      const engine = await openEngine({ home });
      try {
        const r = await engine.trainEmbedder({
          ...(opts.data !== undefined ? { data: opts.data } : {}),
          split: opts.split,
          ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
          ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
          ...(opts.batch !== undefined ? { batchSize: opts.batch } : {}),
          seed: opts.seed,
          fresh: opts.fresh ?? false,
          ...(opts.supervisedFraction !== undefined ? { supervisedFraction: opts.supervisedFraction } : {}),
          ...(opts.maxPassageWords !== undefined ? { maxPassageWords: opts.maxPassageWords } : {}),
          ...(opts.hardNegatives !== undefined ? { hardNegatives: opts.hardNegatives } : {}),
          ...(opts.lexicalResidual !== undefined ? { lexicalResidual: opts.lexicalResidual } : {}),
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
          ...(opts.titleFraction !== undefined ? { titleFraction: opts.titleFraction } : {}),
        });
        const out = { model: r.model.id, parent: r.parent, active: r.model.active, seconds: r.seconds, metrics: r.metrics, index: r.index };
        if (opts.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        else {
          const recall = r.metrics['heldOutRecallAt10'];
          const before = r.metrics['parentHeldOutRecallAt10'];
          log(
            `registered and activated ${r.model.id}${r.parent ? ` (from ${r.parent})` : ''} after ${r.metrics['steps'] ?? '?'} steps in ${r.seconds.toFixed(1)} s; ` +
              `held-out recall@10 ${recall?.toFixed(4) ?? 'n/a'}${before !== undefined ? ` (was ${before.toFixed(4)})` : ''}`,
          );
          if (before !== undefined && recall !== undefined && recall < before) {
            log(`held-out recall fell; \`sieve models activate ${r.parent}\` serves the previous version again`);
          }
        }
        if (!r.index) log('dense retrieval is off for this home; set {"embed": {"enabled": true}} in its config.json to serve the new embedder');
        else if (!opts.json) log(`vector index of ${r.index.embedder}: ${r.index.points} points`);
      } finally {
        engine.close();
      }
    });
}
