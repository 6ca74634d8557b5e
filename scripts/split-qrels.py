#!/usr/bin/env python3
"""Split one qrels split of a BEIR folder by query into two named splits, for choosing on a dev split.

    python3 scripts/split-qrels.py SRC SPLIT DST A B FRACTION_B SEED

DST gets symlinks to SRC's corpus.jsonl and queries.jsonl and qrels/A.tsv and qrels/B.tsv: the queries of
SRC/qrels/SPLIT.tsv are shuffled with Python's random.Random(SEED) in the order they first appear, and the first
round(n * FRACTION_B) go to B, the rest to A (each query keeps all its judgements). The dev splits in
docs/BENCHMARKS.md were made with it, e.g. `/tmp/sqv` = `python3 scripts/split-qrels.py /tmp/sq train /tmp/sqv fit dev 0.2 5`
(4,228 / 1,057 questions) and `/tmp/sf-dev` = `python3 scripts/split-qrels.py ../shared/data/scifact train /tmp/sf-dev fb dev 0.25 7`
(607 / 202). Python rather than TypeScript so that those splits stay the ones the figures were measured on.
"""
import collections
import os
import random
import sys


def main() -> None:
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    src, split, dst, a, b, frac, seed = sys.argv[1:8]
    frac_b, seed_n = float(frac), int(seed)
    source = os.path.join(src, 'qrels', split + '.tsv')
    if not os.path.isfile(source):
        sys.exit(f'no qrels split {source}: name a split that exists under {src}/qrels')
    if not 0 < frac_b < 1:
        sys.exit(f'FRACTION_B must be between 0 and 1, got {frac}')
    os.makedirs(os.path.join(dst, 'qrels'), exist_ok=True)
    for name in ('corpus.jsonl', 'queries.jsonl'):
        link = os.path.join(dst, name)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(src, name)), link)
    rows: 'collections.OrderedDict[str, list[str]]' = collections.OrderedDict()
    with open(source) as fh:
        header = fh.readline()
        for line in fh:
            rows.setdefault(line.split('\t')[0], []).append(line)
    queries = list(rows)
    random.Random(seed_n).shuffle(queries)
    n_b = int(round(len(queries) * frac_b))
    in_b = set(queries[:n_b])
    for name, keep in ((a, lambda q: q not in in_b), (b, lambda q: q in in_b)):
        with open(os.path.join(dst, 'qrels', name + '.tsv'), 'w') as out:
            out.write(header)
            for q in rows:
                if keep(q):
                    out.writelines(rows[q])
    print(len(queries) - n_b, n_b)


if __name__ == '__main__':
    main()
