#!/usr/bin/env python3
"""MSL's missed events against two kinds of evidence the detector lacks (numpy; offline, nothing in the detector).

    python3 scripts/msl-discord-offline.py DUMP discord [--m 32,64,128] [--norm raw,mean,z]
    python3 scripts/msl-discord-offline.py DUMP sustained [--w 32,64,128] [--field d|s]
    python3 scripts/msl-discord-offline.py SKABDIR skab [--m 64] [--norm z] [--F 1.0]

DUMP: `node scripts/evidence-dump.mjs ROOT DUMP all ../shared/datasets` (values `v`, labels, main's alarms `a`,
the fused deviation `d` and row surprise `s` of the shipped evaluation). Labels from
../shared/datasets/msl/labeled_anomalies.csv beside the checkout (or $MSL_LABELS), read for scoring only: nothing
below is fitted to them.

discord: for every row i of the stream (the train file's rows, then the test file's), the subsequence of the m
  readings ending at i is compared with every earlier one ending at or before i - m (the trivial-match exclusion
  zone), and the row's score is the distance to the nearest: the *left* matrix profile, which a stream can keep as
  it goes (Zhu et al., "Matrix Profile II", ICDM 2016, STAMPI; Lu et al., "Matrix Profile XXIV: DAMP", KDD 2022).
  A discord, a shape the stream has never shown however normal its values, has a large one. Distance: Euclidean
  over sqrt(m) of the raw values (raw), of the mean-removed ones (mean) or of the z-normalised ones (z; a flat
  subsequence's sd floored at 1e-3 of the train file's).
sustained: the mean of the row's evidence (`d`, or `s`) over the newest w readings: evidence too weak to open an
  episode at one row but held for a long stretch (the smoothing of telemanom's errors, Hundman et al., KDD 2018,
  applied to the detector's calibrated evidence instead of a model's raw error).

skab: the discord rule on SKAB's 34 files (SKABDIR: ../shared/datasets/skab; the evaluation's protocol, rows
  0-399 learnt): a row from 400 on is flagged when any of its 8 channels' left matrix profile exceeds F times the
  largest of that channel's rows 200 .. one window back; per file the labelled events (runs of `anomaly` = 1) it
  touches and its runs of flagged normal rows (more than 16 rows apart). No evidence dump needed.

Printed for each: (1) per missed event (no alarm of main's in its rows), the largest score inside it, the largest on
the file's normal test rows (label 0, at least one window from any label, outside main's alarms, not the test
file's first two windows: the splice of two recordings) and on the train file's second half, and how many normal
stretches of that file (runs more than 100 rows apart) reach the event's peak; (2) a streaming rule: a test row is
flagged when its score exceeds F times the largest score of the rows from the middle of the train file (the
learning period's second half; its first half builds the history a score needs) up to one window back, the
reference either taking every row (excl False) or none flagged or alarmed (excl True); the events it finds, those
main misses that it finds, and the false stretches it adds (flagged rows outside labels and main's alarms, runs
more than 100 rows apart).
"""
import ast, csv, glob, json, os, sys
import numpy as np

args = sys.argv[1:]
if len(args) < 2 or args[1] not in ('discord', 'sustained', 'skab'):
    sys.exit(__doc__)
dump, mode = args[0], args[1]


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


labs = {}
LABELS = os.environ.get('MSL_LABELS', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'datasets', 'msl',
                                                   'labeled_anomalies.csv'))
for r in csv.DictReader(open(LABELS)):
    labs[r['chan_id']] = ast.literal_eval(r['anomaly_sequences'])

files = {}
for f in [] if mode == 'skab' else sorted(glob.glob(os.path.join(dump, '*.jsonl'))):
    ch = os.path.basename(f)[:-6]
    if ch not in labs:
        continue
    rows = [json.loads(l) for l in open(f)]
    files[ch] = {k: np.array([r[k] for r in rows], float) for k in ('v', 't', 'a', 'lab', 'd', 's')}
if not files and mode != 'skab':
    sys.exit(f'{dump}: no <channel>.jsonl of an MSL channel')


def left_mp(x, m, ntrain, norm):
    n = len(x)
    W = np.lib.stride_tricks.sliding_window_view(x, m).astype(np.float64)  # W[j] = x[j:j+m], ends at row j+m-1
    if norm == 'mean':
        W = W - W.mean(1, keepdims=True)
    elif norm == 'z':
        sd0 = max(float(np.std(x[:ntrain])), 1e-9)
        W = (W - W.mean(1, keepdims=True)) / np.maximum(W.std(1, keepdims=True), 1e-3 * sd0)
    sq = (W * W).sum(1)
    out = np.full(n, np.nan)
    B = 1024
    for lo in range(0, len(W), B):
        hi = min(len(W), lo + B)
        top = hi - m
        if top <= 0:
            continue
        D = sq[lo:hi, None] + sq[None, :top] - 2 * (W[lo:hi] @ W[:top].T)
        D[np.arange(top)[None, :] > np.arange(lo, hi)[:, None] - m] = np.inf
        out[np.arange(lo, hi) + m - 1] = np.sqrt(np.maximum(D.min(1), 0) / m)
    return out


def rolling_mean(d, w):
    c = np.concatenate([[0.0], np.cumsum(d)])
    out = np.full(len(d), np.nan)
    out[w - 1:] = (c[w:] - c[:-w]) / w
    return out


def stretches(idx):
    if len(idx) == 0:
        return []
    return np.split(idx, np.where(np.diff(idx) > 100)[0] + 1)


def report(name, score, win):
    print(f'=== {name}')
    per = []
    for ch, F in files.items():
        sc = score[ch]
        t, a = F['t'], F['a']
        te = t >= 0
        ntr = int((~te).sum())
        near = np.zeros(len(t), bool)
        for s, e in labs[ch]:
            near[(t >= s - win) & (t <= e + win)] = True
        normal = te & ~near & (a == 0) & (t >= 2 * win)
        half = (~te) & (np.arange(len(t)) >= ntr // 2)
        mn = np.nanmax(np.where(normal, sc, np.nan)) if normal.any() else float('nan')
        mt = np.nanmax(np.where(half, sc, np.nan)) if half.any() else float('nan')
        for s, e in labs[ch]:
            ev = te & (t >= s) & (t <= e)
            if a[ev].any():
                continue
            pk = np.nanmax(sc[ev])
            nst = sum(1 for g in stretches(np.where(normal & (sc >= pk))[0]))
            per.append(f'  {ch} {s}-{e}: peak {pk:.3f}; normal test rows {mn:.3f}, train 2nd half {mt:.3f}; '
                       f'{nst} normal stretch(es) of the file at or above' + ('  <- above both' if pk > mn and pk > mt else ''))
    print('\n'.join(per))
    for Fm in (1.0, 1.1, 1.25, 1.5, 2.0):
        for excl in (False, True):
            found = 0; gain = []; fa = []
            for ch, F in files.items():
                sc = score[ch]; t, a, lab = F['t'], F['a'], F['lab']
                n = len(t); ntr = int((t < 0).sum())
                ref = -np.inf; flag = np.zeros(n, bool)
                for i in range(n):
                    j = i - win
                    if j >= ntr // 2 and np.isfinite(sc[j]) and not (excl and (flag[j] or a[j])):
                        ref = max(ref, sc[j])
                    if t[i] >= 2 * win and np.isfinite(sc[i]) and np.isfinite(ref) and sc[i] > Fm * ref:
                        flag[i] = True
                te = t >= 0
                inlab = np.zeros(n, bool)
                for s, e in labs[ch]:
                    inlab[(t >= s) & (t <= e)] = True
                for s, e in labs[ch]:
                    ev = te & (t >= s) & (t <= e)
                    if flag[ev].any():
                        found += 1
                        if not a[ev].any():
                            gain.append(f'{ch}:{s}')
                fa += [f'{ch}:{int(t[g[0]])}' for g in stretches(np.where(flag & te & ~inlab & (a == 0))[0])]
            print(f'  rule F={Fm} excl={excl}: finds {found}/36; gains {len(gain)} {" ".join(gain)}; '
                  f'adds {len(fa)} false stretches {" ".join(fa[:16])}{" …" if len(fa) > 16 else ""}')


if mode == 'discord':
    for norm in opt('--norm', 'raw,mean,z').split(','):
        for m in [int(x) for x in opt('--m', '32,64,128').split(',')]:
            score = {ch: left_mp(F['v'], m, int((F['t'] < 0).sum()), norm) for ch, F in files.items()}
            report(f'discord m={m} norm={norm}', score, m)
elif mode == 'skab':
    m, norm, Fm = int(opt('--m', '64')), opt('--norm', 'z'), float(opt('--F', '1.0'))
    tot = [0, 0, 0, 0]
    for f in sorted(glob.glob(os.path.join(dump, '*', '*.csv'))):
        if 'anomaly-free' in f:
            continue
        rows = list(csv.DictReader(open(f), delimiter=';'))
        lab = np.array([float(r['anomaly']) for r in rows])
        n = len(rows)
        flag = np.zeros(n, bool)
        for c in [k for k in rows[0] if k not in ('datetime', 'anomaly', 'changepoint')]:
            mp = left_mp(np.array([float(r[c]) for r in rows]), m, 400, norm)
            for i in range(400, n):
                if mp[i] > Fm * np.nanmax(mp[200:i - m + 1]):
                    flag[i] = True
        lr = np.where(lab[400:] > 0)[0] + 400
        evs = np.split(lr, np.where(np.diff(lr) > 1)[0] + 1) if len(lr) else []
        found = sum(1 for e in evs if flag[e].any())
        fr = np.where(flag & (lab == 0))[0]
        runs = len(np.split(fr, np.where(np.diff(fr) > 16)[0] + 1)) if len(fr) else 0
        tot = [tot[0] + found, tot[1] + len(evs), tot[2] + runs, tot[3] + len(fr)]
        print(f'{os.path.relpath(f, dump)}: events {found}/{len(evs)}, false runs {runs}, false rows {len(fr)}')
    print(f'SKAB m={m} norm={norm} F={Fm}: events {tot[0]}/{tot[1]}, false runs {tot[2]}, false rows {tot[3]}')
else:
    field = opt('--field', 'd')
    for w in [int(x) for x in opt('--w', '32,64,128').split(',')]:
        score = {ch: rolling_mean(F[field], w) for ch, F in files.items()}
        report(f'sustained {field} w={w}', score, w)
