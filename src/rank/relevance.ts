// The learned ranker: features for every candidate → the relevance model (an ONNX session behind the
// execution-provider seam) → calibrated P(referenced). Falls back to nothing: the engine uses FusionRanker
// when no relevance model is active.
import { SieveError } from '../errors.js';
import type { Candidate, ChunkRecord, Query, Ranker, ScoredCandidate } from '../types.js';
import { extractFeatures, FEATURE_COUNT, FEATURE_NAMES } from './features.js';
import type { RankingResources } from './resources.js';

/** What the ranker needs of a relevance model runtime (OnnxRelevanceScorer implements it). */
export interface RelevanceScorer {
  readonly version: string;
  readonly featureNames: readonly string[];
  /** Logits for n candidates given their n × F row-major features. */
  score(features: Float32Array, n: number): Promise<Float32Array>;
  /** Calibrated P(referenced) for a logit. */
  probability(logit: number): number;
}

export class RelevanceRanker implements Ranker {
  readonly name = 'relevance';
  readonly calibrated = true;
  readonly version: string;

  constructor(
    private readonly scorer: RelevanceScorer,
    private readonly resources: RankingResources,
  ) {
    const expected = FEATURE_NAMES.join(',');
    if (scorer.featureNames.join(',') !== expected) {
      throw new SieveError(
        'MODEL_INVALID',
        `relevance model ${scorer.version} was trained on features [${scorer.featureNames.join(', ')}], this sieve computes [${expected}]; retrain it with \`sieve train relevance\``,
      );
    }
    this.version = scorer.version;
  }

  async rank(query: Query, candidates: Candidate[], chunks: Map<number, ChunkRecord>): Promise<ScoredCandidate[]> {
    const live = candidates.filter((c) => chunks.has(c.chunkId));
    if (live.length === 0) return [];
    const features = extractFeatures(this.resources, query, live, chunks);
    const logits = await this.scorer.score(features, live.length);
    return live
      .map((c, i) => ({
        ...c,
        chunk: chunks.get(c.chunkId)!,
        score: this.scorer.probability(logits[i]!),
        features: features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT),
      }))
      .sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
  }
}
