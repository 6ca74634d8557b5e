// The hand-written Prometheus exposition: names, label escaping, cumulative histogram buckets.
import { describe, expect, it } from 'vitest';
import { Counter, escapeLabelValue, formatValue, Histogram, ServiceMetrics } from '../src/server/metrics.js';

describe('Prometheus exposition', () => {
  it('escapes label values (backslash, quote, newline)', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('spells infinities and NaN the Prometheus way', () => {
    expect([formatValue(Infinity), formatValue(-Infinity), formatValue(NaN), formatValue(0.25)]).toEqual(['+Inf', '-Inf', 'NaN', '0.25']);
  });

  it('counts per label set', () => {
    const c = new Counter('x_total', 'Things.');
    c.inc({ route: '/a' });
    c.inc({ route: '/a' });
    c.inc({ route: '/b' }, 5);
    expect(c.expose()).toEqual(['# HELP x_total Things.', '# TYPE x_total counter', 'x_total{route="/a"} 2', 'x_total{route="/b"} 5']);
  });

  it('writes cumulative histogram buckets, +Inf, sum and count', () => {
    const h = new Histogram('lat_seconds', 'Latency.', [0.01, 0.1, 1]);
    for (const v of [0.005, 0.05, 0.05, 0.5, 3]) h.observe({ route: '/a' }, v);
    expect(h.expose()).toEqual([
      '# HELP lat_seconds Latency.',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{route="/a",le="0.01"} 1',
      'lat_seconds_bucket{route="/a",le="0.1"} 3',
      'lat_seconds_bucket{route="/a",le="1"} 4',
      'lat_seconds_bucket{route="/a",le="+Inf"} 5',
      'lat_seconds_sum{route="/a"} 3.605',
      'lat_seconds_count{route="/a"} 5',
    ]);
  });

  it('exposes the service series, with active versions as labels and the last training outcome', () => {
    const m = new ServiceMetrics();
    m.observeRequest('POST', '/v1/ask', 200, 0.012);
    let text = m.expose({ activeModels: { ranker: 'relevance-x', embedder: 'emb-1' }, documents: 3, chunks: 9, traces: 4 });
    expect(text).toContain('sieve_http_requests_total{method="POST",route="/v1/ask",status="200"} 1\n');
    expect(text).toContain('sieve_http_request_duration_seconds_bucket{method="POST",route="/v1/ask",status="200",le="0.025"} 1\n');
    expect(text).toContain('sieve_model_active{kind="ranker",version="relevance-x"} 1\n');
    expect(text).toContain('sieve_model_active{kind="embedder",version="emb-1"} 1\n');
    expect(text).toContain('sieve_index_documents 3\n');
    expect(text).toContain('sieve_index_chunks 9\n');
    expect(text).toContain('sieve_traces 4\n');
    expect(text).not.toMatch(/^sieve_last_training_timestamp_seconds\{/m);
    m.recordTraining('promoted', 'relevance-y', new Date(1_700_000_000_000));
    text = m.expose({ activeModels: {}, documents: 0, chunks: 0, traces: 0 });
    expect(text).toContain('sieve_last_training_timestamp_seconds{status="promoted",model="relevance-y"} 1700000000\n');
    expect(text.endsWith('\n')).toBe(true);
  });
});
