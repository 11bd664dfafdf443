#!/usr/bin/env python3
"""Which evidence opened and held each episode of an evidence dump (scripts/evidence-dump.mjs's OUTDIR/*.jsonl).

Per file (SKAB: the file's streams, one per value column, grouped back into the file): its scored rows alarmed
inside a label (tp) and outside one (fp), as `npm run evaluate` counts them (a row is alarmed when any of its
streams is); each episode opened in the scored rows (row t, stream, label there, deviation d, and the three kinds
with the largest surprise against the reference histories: `dv`, what opens an episode); and per stream, the kind
with the largest `dv` on each false-alarm row (the evidence that holds the false episodes), with the first and last
such row. Also per stream, the model's one-step residual (v - x) on the learning rows' training part, their
validation tail (the last 20 %, as the trainer splits them) and the scored normal rows: RMS, mean, and the median
and 95th percentile of the |mean| over 16 readings (bias's short mean, in sensor units).

    python3 scripts/evidence-opens.py OUTDIR [FILE_PREFIX...]   e.g. OUTDIR valve1_9 cycles_daily_cycle_spike_5m
"""
import collections
import glob
import json
import math
import os
import statistics
import sys

SKAB_GROUPS = ('valve1', 'valve2', 'other')


def file_of(name):
    parts = name.split('_')
    return '_'.join(parts[:2]) if parts[0] in SKAB_GROUPS else name


def residual_stats(res):
    if len(res) < 17:
        return 'n/a'
    rms = math.sqrt(sum(r * r for r in res) / len(res))
    means = sorted(abs(sum(res[i - 16:i]) / 16) for i in range(16, len(res)))
    return 'rms %.3f mean %+.3f |mean16| p50 %.3f p95 %.3f' % (
        rms, sum(res) / len(res), statistics.median(means), means[int(0.95 * (len(means) - 1))])


def main():
    out_dir, prefixes = sys.argv[1], sys.argv[2:]
    files = collections.defaultdict(dict)
    for path in sorted(glob.glob(os.path.join(out_dir, '*.jsonl'))):
        name = os.path.basename(path)[:-len('.jsonl')]
        f = file_of(name)
        if prefixes and not any(f.startswith(p) for p in prefixes):
            continue
        with open(path) as fh:
            files[f][name[len(f) + 1:] or f] = [json.loads(line) for line in fh]
    for f, streams in files.items():
        first = next(iter(streams.values()))
        n = len(first)
        tp = fp = 0
        opens, held, span = [], collections.Counter(), {}
        for i in range(n):
            row = first[i]
            on = [s for s, rows in streams.items() if rows[i]['a']]
            if row['t'] >= 0 and on:
                if row['lab']:
                    tp += 1
                else:
                    fp += 1
                    for s in on:
                        dv = streams[s][i]['dv'] or {}
                        kind = max(((v, k) for k, v in dv.items() if v is not None), default=(0, None))[1]
                        held[(s, kind)] += 1
                        span[s] = (span.get(s, (row['t'],))[0], row['t'])
            for s, rows in streams.items():
                r = rows[i]
                if r['t'] >= 0 and 'open' in r['E']:
                    dv = r['dv'] or {}
                    top = sorted(((v, k) for k, v in dv.items() if v is not None), reverse=True)[:3]
                    opens.append((r['t'], s, r['lab'], r['d'], ' '.join('%s %.2f' % (k, v) for v, k in top)))
        print(f'{f}: tp {tp} fp {fp}')
        for o in sorted(opens):
            print('  open t=%d %s label %d d %s: %s' % o)
        for (s, kind), c in sorted(held.items(), key=lambda x: -x[1]):
            print(f'  false rows {s}: {c} held by {kind} (rows {span[s][0]}..{span[s][1]})')
        for s, rows in streams.items():
            learn = [r for r in rows if r['t'] < 0]
            cut = int(len(learn) * 0.8)
            res = lambda rs: [r['v'] - r['x'] for r in rs if r['x'] is not None]
            print(f'  residual {s}: train {residual_stats(res(learn[:cut]))}; validation {residual_stats(res(learn[cut:]))}; '
                  f'scored normal {residual_stats(res([r for r in rows if r["t"] >= 0 and r["lab"] == 0]))}')


if __name__ == '__main__':
    main()
