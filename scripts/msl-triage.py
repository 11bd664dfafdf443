#!/usr/bin/env python3
"""Triage of the MSL runs from per-row evidence dumps (stdlib only).

    python3 scripts/msl-triage.py DUMP [BEFORE] [--thresholds 2.22,3.02]

DUMP (and BEFORE) are directories written by `node scripts/evidence-dump.mjs ROOT DUMP all ../shared/datasets`
(one <channel>.jsonl per MSL channel; fields described in that script). Prints, for DUMP:
  - every false-alarm event (an alarm run of the test rows touching no labelled row): its rows, the deviation it
    opened at with the three strongest kinds of reference evidence (`dv`), and its peak;
  - every missed labelled event (no alarm row inside it): its largest deviation and the strongest reference surprise
    of each kind anywhere in it (top three);
  - the normal test rows (label 0) whose row surprise `s` (what the NAB sweep ranks) reaches each threshold, per
    file and by the strongest kind of adaptive evidence (`ev`) on the row.
With BEFORE, per file: how many normal rows reach each threshold before and after, how many rose or fell by more
than 0.3, the largest `s` inside the labels, and how many rows' alarm state differs.
"""
import collections
import glob
import json
import os
import sys


def load(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, '*.jsonl'))):
        with open(f) as fh:
            out[os.path.basename(f)[:-6]] = [r for r in map(json.loads, fh) if r['t'] >= 0]
    if not out:
        sys.exit(f'{d}: no <channel>.jsonl')
    return out


def runs(rows, on):
    out, start = [], None
    for i, r in enumerate(rows):
        if on(r) and start is None:
            start = i
        if not on(r) and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(rows) - 1))
    return out


def top(kinds, n=3):
    return ', '.join(f'{k} {v:.2f}' for v, k in sorted(((v, k) for k, v in kinds.items() if v is not None), reverse=True)[:n])


def strongest(kinds):
    return max(((v, k) for k, v in kinds.items() if v is not None), default=(0, '-'))[1]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    thresholds = [2.22, 3.02]
    for a in sys.argv[1:]:
        if a.startswith('--thresholds='):
            thresholds = [float(x) for x in a.split('=', 1)[1].split(',')]
    if not args:
        sys.exit(__doc__)
    after = load(args[0])
    print('False-alarm events (file, test rows, opening deviation and kinds, peak):')
    for ch, rows in after.items():
        labels = runs(rows, lambda r: r['lab'] == 1)
        for s, e in runs(rows, lambda r: r['a'] == 1):
            if any(not (e < a or s > b) for a, b in labels):
                continue
            peak = max(rows[s:e + 1], key=lambda r: r['d'])
            print(f'  {ch} {s}-{e} ({e - s + 1} rows): opened at {rows[s]["d"]:.2f} ({top(rows[s]["dv"])}); '
                  f'peak {peak["d"]:.2f} at {peak["t"]} ({top(peak["dv"])})')
    print('Missed events (file, test rows, largest deviation, strongest reference kinds anywhere in it):')
    for ch, rows in after.items():
        for s, e in runs(rows, lambda r: r['lab'] == 1):
            seg = rows[s:e + 1]
            if any(r['a'] for r in seg):
                continue
            best = {}
            for r in seg:
                for k, v in r['dv'].items():
                    if v is not None and v > best.get(k, -1):
                        best[k] = v
            peak = max(seg, key=lambda r: r['d'])
            print(f'  {ch} {s}-{e} ({e - s + 1} rows): deviation {peak["d"]:.2f} at {peak["t"]}; {top(best)}')
    for t in thresholds:
        by_kind, by_file = collections.Counter(), collections.Counter()
        for ch, rows in after.items():
            for r in rows:
                if r['lab'] == 0 and r['s'] >= t:
                    by_kind[strongest(r['ev'])] += 1
                    by_file[ch] += 1
        print(f'Normal rows with s >= {t}: {sum(by_kind.values())}; by kind {dict(by_kind.most_common())}; '
              f'by file {dict(by_file.most_common())}')
    if len(args) < 2:
        return
    before = load(args[1])
    print('Against BEFORE (normal rows reaching each threshold before -> after; rows up / down by > 0.3; '
          'largest s in the labels; rows whose alarm differs):')
    for ch in after:
        a, b = before.get(ch), after[ch]
        if a is None or len(a) != len(b):
            print(f'  {ch}: not comparable')
            continue
        pairs = list(zip(a, b))
        up = [y for x, y in pairs if x['lab'] == 0 and y['s'] > x['s'] + 0.3]
        down = sum(1 for x, y in pairs if x['lab'] == 0 and y['s'] < x['s'] - 0.3)
        na = [sum(1 for r in a if r['lab'] == 0 and r['s'] >= t) for t in thresholds]
        nb = [sum(1 for r in b if r['lab'] == 0 and r['s'] >= t) for t in thresholds]
        la = max((r['s'] for r in a if r['lab'] == 1), default=0)
        lb = max((r['s'] for r in b if r['lab'] == 1), default=0)
        alarms = sum(1 for x, y in pairs if x['a'] != y['a'])
        if up or down or na != nb or alarms or abs(la - lb) > 0.005:
            kinds = dict(collections.Counter(strongest(y['ev']) for y in up))
            print(f'  {ch}: {na} -> {nb}; up {len(up)} {kinds}, down {down}; labels {la:.2f} -> {lb:.2f}; alarm rows {alarms}')


if __name__ == '__main__':
    main()
