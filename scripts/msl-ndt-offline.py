#!/usr/bin/env python3
"""MSL offline checks of two leads for the issue's MSL goal (numpy), on per-row evidence dumps.

    python3 scripts/msl-ndt-offline.py DUMP held [--hold 4.5] [--after 1000]
    python3 scripts/msl-ndt-offline.py DUMP smoothed [--spans 8,31,105]
    python3 scripts/msl-ndt-offline.py DUMP ndt [--mode window|batch|causal] [--p 0.13] [--crossing]
    python3 scripts/msl-ndt-offline.py DUMP prune
    python3 scripts/msl-ndt-offline.py DUMP residuals

DUMP: `node scripts/evidence-dump.mjs ROOT DUMP all ../shared/datasets` (one <channel>.jsonl per MSL channel, with
the model's one-step expectation `x` of every reading). Its alarms (`a`) are the evaluation's.

held      Every run of alarmed test rows that lasted `alerts.newNormalAfter` − 1 readings (held to the new normal):
          how many of its rows had a deviation below the hold level H (= threshold − holdMargin) and the longest run
          of them (an episode resolves after `alerts.closeAfter` = 16 in a row), its labelled rows, and the mean and
          standard deviation of the values per 100 rows against the train file's.
smoothed  Telemanom's smoothed error (an exponentially weighted mean of |x − expected|, span S readings) on the
          model of the evaluation: for each labelled event, its largest smoothed error against the largest on the
          normal test rows (label 0, more than 200 rows after any event, after the first 100 test rows) of the
          same file. Above 1 is where a threshold on this evidence alone could find the event without a false alarm.
          Then its streaming form: a test row is flagged when its smoothed error is 13 % (telemanom's pruning margin)
          above the largest of the 2,100 before it (telemanom's window) less the newest 50; events and false alarms.
ndt       Telemanom's nonparametric dynamic thresholding and pruning (Hundman et al., "Detecting spacecraft
          anomalies using LSTMs and nonparametric dynamic thresholding", KDD 2018, section 3.2; an implementation of
          the paper's rule with its published MSL parameters: errors smoothed over 105 readings, windows of 30
          batches of 70 errors, z from 2.5 to 12 by 0.5, an error buffer of 100, at most 5 sequences, pruning at
          p = 0.13; its low-error (inverted) pass too) applied to the evaluation's model errors, scored with the
          evaluation's event rule (an event is found when a flagged row falls in it; a flagged run that touches no
          event is a false alarm). Also the union with the evaluation's alarms (a row alarmed by either): what this
          evidence could add beside the detector at most, with no false alarm of either removed.
prune     Telemanom's pruning as a streaming rule on the evaluation's own alarm runs: each run's peak deviation over
          the largest deviation of the stream's judged rows (not learning) outside alarm runs before it (train rows
          included; not the reading that resolved an episode); a run whose ratio is below 1.13 would be pruned.
residuals The root mean square of the model's residual x − expected on the train rows the model was fitted to (the
          first 80 % after the first 100), on the train rows that judged it (the last 20 %) and on the normal test
          rows outside alarms (after the first 100): whether histories learnt on the train file see in-sample errors
          smaller than the test file's normal ones.
          --mode window: telemanom's own windows over the test file (the first window covers its first 2,100
                   rows at once, and a flagged error also flags the 100 rows before it): not a streaming rule.
          --mode batch:  at every 70th test row, the window is the newest 2,100 smoothed errors of the stream (train
                   rows included); only the newest 70 rows may be flagged (a delay of up to 70 rows).
          --mode causal: batch, and a row is flagged only at or after an error above the threshold (within 100).
          --crossing: the same restriction in the window mode.
"""
import glob
import json
import os
import statistics
import sys

import numpy as np

B, WS, BUF, LS = 70, 30, 100, 250  # telemanom's batch, window (in batches), error buffer, sequence length
SPAN = int(B * WS * 0.05)  # 105 readings


def load(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, '*.jsonl'))):
        with open(f) as fh:
            out[os.path.basename(f)[:-6]] = [json.loads(line) for line in fh]
    if not out:
        sys.exit(f'{d}: no <channel>.jsonl')
    if out[next(iter(out))][-1].get('x', 'none') == 'none':
        sys.exit(f'{d}: no `x` field (dump written before evidence-dump.mjs carried the expectation)')
    return out


def runs(flags):
    out, i = [], 0
    while i < len(flags):
        if flags[i]:
            j = i
            while j < len(flags) and flags[j]:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def opt(name, default):
    a = sys.argv
    return a[a.index(name) + 1] if name in a else default


def held(data):
    hold, after = float(opt('--hold', '4.5')), int(opt('--after', '1000'))
    for name, rows in data.items():
        train = [r['v'] for r in rows if r['t'] < 0]
        test = [r for r in rows if r['t'] >= 0]
        for s, e in runs([r['a'] == 1 for r in test]):
            if e - s < after - 1:
                continue
            ep = test[s:e]
            below = [r['d'] < hold for r in ep]
            longest = max((b - a for a, b in runs(below)), default=0)
            blocks = ' '.join(
                f"{statistics.mean(r['v'] for r in test[b:b + 100]):.3f}±{statistics.pstdev([r['v'] for r in test[b:b + 100]]):.3f}"
                f"{'L' if any(r['lab'] == 1 for r in test[b:b + 100]) else ''}"
                for b in range(max(0, s - 100), min(len(test), e + 100), 100))
            print(f"{name} test rows {s}–{e - 1} ({e - s} rows, {sum(r['lab'] == 1 for r in ep)} labelled): "
                  f"deviation below {hold} on {sum(below)} rows, at most {longest} in a row; train "
                  f"{statistics.mean(train):.3f}±{statistics.pstdev(train):.3f}; per 100 rows from {max(0, s - 100)} "
                  f"(L: labelled rows): {blocks}")


def ewm(e, span):
    """An exponentially weighted mean with pandas' adjust=True weights (telemanom's `ewm(span=…).mean()`)."""
    a, num, den, out = 2 / (span + 1), 0.0, 0.0, np.empty(len(e))
    for i, x in enumerate(e):
        num, den = x + (1 - a) * num, 1 + (1 - a) * den
        out[i] = num / den
    return out


def events(lab, start=0):
    return [(a, b - 1) for a, b in runs([x == 1 for x in lab[start:]])] if start == 0 else \
        [(a + start, b - 1 + start) for a, b in runs([x == 1 for x in lab[start:]])]


def smoothed(data):
    for span in map(int, opt('--spans', '8,31,105').split(',')):
        print(f'span {span}: largest smoothed error in the event / on the normal test rows of its file '
              '(F: found by the evaluation, m: missed)')
        tally = [0, 0, 0, []]
        for name, rows in data.items():
            a, s, since, sm = 2 / (span + 1), None, 0, []
            for r in rows:  # restarted where the model has no expectation (the new recording's first rows)
                if r['x'] is None:
                    s, since = None, 0
                    sm.append(None)
                    continue
                e = abs(r['v'] - r['x'])
                since += 1
                s = e if s is None else a * e + (1 - a) * s
                sm.append(s if since >= 100 else None)
            test = [(r, v) for r, v in zip(rows, sm) if r['t'] >= 0]
            lab = [r['lab'] for r, _ in test]
            evs = events(lab)
            near = {k for a, b in evs for k in range(a, min(len(test), b + 201))}
            normal = [v for k, (_, v) in enumerate(test) if k not in near and k >= 100 and v is not None]
            top = max(normal, default=0) or 1e-300
            out = []
            for a, b in evs:
                m = max((v for _, v in test[a:b + 1] if v is not None), default=0)
                found = 'F' if any(r['a'] for r, _ in test[a:b + 1]) else 'm'
                out.append(f'{a}{found} {m / top:.2f}')
            print(f'  {name:5s} ' + ' | '.join(out))
            # The streaming form: a test row flagged when its smoothed error is 13 % above the largest of the 2,100
            # before it less the newest 50 (at least 500 of them); flags less than 20 rows apart are one alarm.
            flag = []
            for t, (r, v) in enumerate(zip(rows, sm)):
                prev = [u for u in sm[max(0, t - 2100):t - 50] if u is not None] if r['t'] >= 0 and v is not None else []
                flag.append(len(prev) >= 500 and max(prev) > 0 and v > 1.13 * max(prev))
            flag = flag[len(rows) - len(test):]
            alarms = []
            for a, b in runs(flag):
                if alarms and a - alarms[-1][1] < 20:
                    alarms[-1] = (alarms[-1][0], b)
                else:
                    alarms.append((a, b))
            found = [any(flag[a:b + 1]) for a, b in evs]
            tally[0] += len(evs)
            tally[1] += sum(found)
            tally[2] += sum(1 for a, b in alarms if not any(x == 1 for x in lab[a:b]))
            tally[3] += [f'{name}@{a}' for (a, b), f in zip(evs, found) if f and not any(r['a'] for r, _ in test[a:b + 1])]
        print(f'  streaming (13 % above the largest of the 2,100 before): events {tally[1]}/{tally[0]}, false alarms '
              f'{tally[2]}; found, missed by the evaluation: {tally[3]}')


def seqs(idx):
    out = []
    for i in sorted(set(idx)):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return [(a, b) for a, b in out if a != b]


def find_z(es):
    """The z of the threshold mean + z·sd whose removal of the errors above it lowers their mean and sd most for
    the sequences and points it flags (the paper's equation 2, with its sanity limits)."""
    m, sd, best, zt = es.mean(), es.std(), 0.0, 12.0
    if sd == 0 or m == 0:
        return zt
    for z in np.arange(2.5, 12.0, 0.5):
        eps = m + sd * z
        below, above = es[es < eps], np.nonzero(es > eps)[0]
        if len(above) == 0:
            continue
        flagged = {j for i in above for j in range(i - BUF + 1, i + BUF) if 0 <= j < len(es)}
        score = ((m - below.mean()) / m + (sd - below.std()) / sd) / (len(seqs(flagged)) ** 2 + len(flagged))
        if score >= best and len(seqs(flagged)) <= 5 and len(flagged) < len(es) * 0.5:
            zt, best = z, score
    return zt


def compare(es, eps, inter, chan_std, std, first, earlier, n_test, back):
    """Flagged rows of a window (the newest batch's only, except in telemanom's first window), the crossings and the
    largest smoothed error not flagged (what pruning compares the sequences' peaks with)."""
    if not (std > 0.05 * chan_std or es.max() > 0.05 * inter) or not es.max() > 0.05:
        return [], set(), 0.0
    ignore = 2 * LS if n_test >= 2500 else (LS if n_test >= 1800 else 0)
    flagged, crossings = set(), []
    for x in range(len(es)):
        if es[x] > eps and es[x] > 0.05 * inter:
            crossings.append(x)
            for b in range(BUF):
                for y in ((x + b, x - b) if back else (x + b,)):
                    if 0 <= y < len(es) and (y >= len(es) - B or first) and not (first and y < ignore):
                        flagged.add(y)
    rest = max((es[x] for x in range(len(es)) if x not in flagged and x not in earlier), default=0.0)
    return seqs(flagged), flagged, rest


def prune(sq, es, rest, flagged):
    peaks = [es[a:b].max() for a, b in sq if b > a]
    order = sorted(peaks, reverse=True) + ([rest] if rest > 0 else [])
    P = float(opt('--p', '0.13'))
    drop = []
    for i in range(len(order) - 1):
        if (order[i] - order[i + 1]) / order[i] < P:
            drop.append(peaks.index(order[i]))
        else:
            drop = []
    keep = [s for k, s in enumerate(sq) if k not in drop]
    return {i for i in flagged if any(a <= i <= b for a, b in keep)}


def window_flags(es, y, first, earlier, n_test, causal):
    hi, lo = np.percentile(y, [95, 5])
    inter, m, std, cs = hi - lo, es.mean(), es.std(), y.std()
    out = set()
    for e in (es, m + (m - es)):  # the errors, then the errors flipped about their mean (a dip of the errors)
        z = find_z(e)
        sq, flagged, rest = compare(e, m + z * std, inter, cs, std, first, earlier, n_test, back=True)
        if not sq:
            continue
        kept = prune(sq, e, rest, flagged)
        if causal:  # only at or after a crossing, within the buffer
            cross = [x for x in range(len(e)) if e[x] > m + z * std and e[x] > 0.05 * inter]
            kept = {k for k in kept if any(0 <= k - c < BUF for c in cross)}
        out |= kept
    return out


def ndt(data):
    mode = opt('--mode', 'window')
    tot_ev = tot_found = tot_fa = u_found = u_fa = 0
    gained, lost = [], []
    for name, rows in data.items():
        s0 = next(k for k, r in enumerate(rows) if r['t'] >= 0)
        use = rows[s0:] if mode == 'window' else rows
        off = 0 if mode == 'window' else s0
        y = np.array([r['v'] for r in use])
        e = np.array([abs(r['v'] - r['x']) if r['x'] is not None else np.nan for r in use])
        e[np.isnan(e)] = np.nanmean(e[:2 * LS]) if mode == 'window' else np.nanmean(e)
        es = ewm(e, SPAN)
        n, n_test = len(use), len(rows) - s0
        flagged = set()
        if mode == 'window':
            es[:LS] = es[:2 * LS].mean()
            ws = WS
            nw = int((n - B * ws) / B)
            while nw < 0 and ws > 1:
                ws -= 1
                nw = int((n - B * ws) / B)
            for i in range(1, nw + 2):
                lo, hi = (i - 1) * B, (WS * B + (i - 1) * B if i < nw + 1 else n)
                got = window_flags(es[lo:hi], y[lo:hi], i == 1, {k - lo for k in flagged}, n_test, '--crossing' in sys.argv)
                flagged |= {k + lo for k in got}
        else:
            for hi in range(s0 + B, n + B, B):
                hi = min(hi, n)
                lo = max(0, hi - WS * B)
                got = window_flags(es[lo:hi], y[lo:hi], False, {k - lo for k in flagged}, n_test, mode == 'causal')
                flagged |= {k + lo for k in got if k + lo >= s0}
        flag = np.zeros(n, bool)
        for k in flagged:
            flag[k] = True
        lab = [max(r['lab'], 0) for r in use]
        evs = events(lab)
        found = [flag[a:b + 1].any() for a, b in evs]
        main = [any(r['a'] for r in use[a:b + 1]) for a, b in evs]
        fa = [(a, b) for a, b in runs(list(flag)) if not any(lab[a:b])]
        for (a, _), f, m in zip(evs, found, main):
            if f and not m:
                gained.append(f'{name}@{a - off}')
            if m and not f:
                lost.append(f'{name}@{a - off}')
        tot_ev, tot_found, tot_fa = tot_ev + len(evs), tot_found + sum(found), tot_fa + len(fa)
        union = [bool(f) or r['a'] == 1 and r['t'] >= 0 for f, r in zip(flag, use)]  # beside the evaluation's alarms
        u_found += sum(any(union[a:b + 1]) for a, b in evs)
        u_fa += sum(1 for a, b in runs(union) if not any(lab[a:b]))
        print(f"  {name:5s} found {sum(found)}/{len(evs)} (evaluation {sum(main)}), false {len(fa)}: "
              f"{[(a - off, b - 1 - off) for a, b in runs(list(flag))]}")
    p = tot_found / max(1, tot_found + tot_fa)
    print(f'{mode}: events {tot_found}/{tot_ev}, false alarms {tot_fa}: event P / R {p:.3f} / {tot_found / tot_ev:.3f}; '
          f'found here, missed by the evaluation: {gained}; found by the evaluation, not here: {lost}; '
          f'beside the evaluation\'s alarms (either alarms): events {u_found}/{tot_ev}, false alarms {u_fa}: '
          f'event P / R {u_found / max(1, u_found + u_fa):.3f} / {u_found / tot_ev:.3f}')


def prune_runs(data):
    for name, rows in data.items():
        before, out, i = 0.0, [], 0
        while i < len(rows):
            if rows[i]['a'] == 1:
                j = i
                while j < len(rows) and rows[j]['a'] == 1:
                    j += 1
                peak = max(r['d'] for r in rows[i:j])
                kind = 'true' if any(r['lab'] == 1 for r in rows[i:j]) else 'false'
                ratio = f'{peak / before:.2f}' if before > 0 else 'none before'
                out.append(f"{kind} at test row {rows[i]['t']}: peak {peak:.1f} / {before:.1f} = {ratio}")
                i = j
                continue
            if rows[i]['st'] != 'learning' and not any(e.startswith('resolve') for e in rows[i]['E']):
                before = max(before, rows[i]['d'])  # (the reading that resolves an episode is the episode's)
            i += 1
        if out:
            print(f'  {name:5s} ' + ' | '.join(out))


def residuals(data):
    ratios = []
    for name, rows in data.items():
        train = [r for r in rows if r['t'] < 0 and r['x'] is not None][100:]
        fit, judge = train[:int(len(train) * 0.8)], train[int(len(train) * 0.8):]
        normal = [r for r in rows if r['t'] >= 0 and r['x'] is not None and r['lab'] == 0 and r['a'] == 0][100:]
        rms = [float(np.sqrt(np.mean([(r['v'] - r['x']) ** 2 for r in part]))) if part else 0.0 for part in (fit, judge, normal)]
        if rms[0] > 1e-9:
            ratios.append(rms[2] / rms[0])
        print(f'  {name:5s} fitted {rms[0]:.4g}  judging {rms[1]:.4g}  normal test {rms[2]:.4g}'
              + (f'  (test / fitted {rms[2] / rms[0]:.2f})' if rms[0] > 1e-9 else '  (constant train file)'))
    print(f'median normal test / fitted over {len(ratios)} files with a moving train file: {statistics.median(ratios):.2f}; '
          f'below 1 in {sum(r < 1 for r in ratios)}')


if __name__ == '__main__':
    modes = {'held': held, 'smoothed': smoothed, 'ndt': ndt, 'prune': prune_runs, 'residuals': residuals}
    if len(sys.argv) < 3 or sys.argv[2] not in modes:
        sys.exit(__doc__)
    modes[sys.argv[2]](load(sys.argv[1]))
