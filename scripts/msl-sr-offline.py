#!/usr/bin/env python3
"""MSL's missed events against two kinds of evidence no earlier section checked (numpy; offline, nothing in the
detector; branch `mslrec`, twenty-fifth session).

    python3 scripts/msl-sr-offline.py DUMP msl [--kind sr,haar] [--w 64,128] [--scales 2,4,8,16,32,64] [--ready K]
    python3 scripts/msl-sr-offline.py SKABDIR skab --kind sr --w 64 --F 1.5 [--ready K]
    python3 scripts/msl-sr-offline.py DEVDIR dev --kind sr --w 64 --F 1.5 [--ready K]

DUMP: `node scripts/evidence-dump.mjs ROOT DUMP all ../shared/datasets` (values, labels, main's alarms). Labels are
read for scoring only; nothing is fitted to them.

sr: the spectral residual (Ren, Xu, Wang, Yi, Wang, Zhang et al., "Time-Series Anomaly Detection Service at
  Microsoft", KDD 2019, section 3.1). Per row i, the w readings ending at it, extended by kappa = 5 copies of an
  estimate of the next reading (the paper's: x[i-m] + the mean slope to x[i-1] of the m = 5 readings before it, times m,
  taken before the newest reading as Microsoft's implementation does), so the row is not at the window's edge;
  A = |FFT|, L = log A, R = L - (L averaged over q = 3 frequencies), saliency S = |IFFT(exp(R + i phase))|; the
  row's score is (S[i] - mean S over the z = 21 rows before it) / that mean. Counted in readings: the same at any
  sampling rate. A reading whose place in the pattern is unusual (a pulse early, a ramp cut short) is salient.
haar: the Haar wavelet's detail at scales s = 2, 4, ..., 64 readings (--scales), d_s(i) = mean(x[i-s+1..i]) -
  mean(x[i-2s+1..i-s]) (multi-resolution analysis of a signal for anomalies: Barford, Kline, Plonka and Ron, "A
  Signal Analysis of Network Traffic Anomalies", IMW 2002): a change over s readings the stream has not shown at
  that scale (a ramp that climbs or falls further in s readings than any before, at any of the scales). A row's
  score per scale is |d_s|; it is flagged when any scale's score exceeds F times that scale's reference.

The streaming rule, as in the sections `msl5`, `msl7`, `msl`, `msl8` (a nonparametric threshold with a margin,
telemanom's idea): a test row is flagged when its score exceeds F times the largest score of the rows from the
train file's middle to one window back (--ready K: only once that reference holds K windows of rows). msl: main's
alarms with the flags added, scored as the evaluation scores events (runs of alarmed or flagged rows, gaps of at
most 16 readings merged, `alerts.closeAfter`; a run touching a label finds it, one touching none is a false alarm),
and per missed event its peak against the file's normal test rows and the train's second half. skab (rows 0-399
learnt, 8 channels, a row flagged when any channel is) and dev (the probation, min(15 %, 750) rows, learnt): the
rule alone, flagged runs touching no label.
"""
import csv, datetime, glob, importlib.util, json, os, sys
import numpy as np

args = sys.argv[1:]
if len(args) < 2 or args[1] not in ('msl', 'skab', 'dev'):
    sys.exit(__doc__)


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


READY = float(opt('--ready', '0'))
KINDS = opt('--kind', 'sr,haar').split(',')
WS = [int(v) for v in opt('--w', '64,128').split(',')]
FS = [float(v) for v in opt('--F', '1.0,1.1,1.25,1.5,2.0').split(',')]
SCALES = [int(v) for v in opt('--scales', '2,4,8,16,32,64').split(',')]


def sr_score(x, w, kappa=5, m=5, q=3, z=21):
    """Per row the spectral residual score of the w readings ending at it (nan before w readings)."""
    x = np.asarray(x, float)
    n = len(x)
    out = np.full(n, np.nan)
    if n < w:
        return out
    W = np.lib.stride_tricks.sliding_window_view(x, w)  # W[j] ends at row j + w - 1
    B = 2048
    kern = np.ones(q) / q
    for lo in range(0, len(W), B):
        X = W[lo:lo + B]
        # the estimate from the m + 1 readings before the newest (as Microsoft's implementation, `predict_next` on
        # values[-m - 2:-1]): from the newest itself, a spike's own slope would be copied kappa times after it and
        # hide it (checked: a spike of 8 sd scored -0.9 that way, 9.3 without the extension, 7.3 judged 5 later)
        v = X[:, -m - 2:-1]
        g = (v[:, -1:] - v[:, :-1]) / np.arange(m, 0, -1)[None, :]
        est = v[:, 1] + g.sum(1)
        E = np.concatenate([X, np.repeat(est[:, None], kappa, 1)], 1)
        F = np.fft.fft(E, axis=1)
        A = np.abs(F)
        L = np.log(np.maximum(A, 1e-12))
        Lp = np.concatenate([L[:, -(q // 2):], L, L[:, :q // 2]], 1)  # circular average over q frequencies
        AL = np.stack([np.convolve(r, kern, 'valid') for r in Lp])
        R = L - AL
        S = np.abs(np.fft.ifft(np.exp(R + 1j * np.angle(F)), axis=1))
        ref = S[:, w - 1 - z:w - 1].mean(1)
        sc = np.where(ref > 1e-12, (S[:, w - 1] - ref) / np.maximum(ref, 1e-12), 0.0)
        flat = np.ptp(X, 1) == 0
        sc[flat] = 0.0
        out[lo + w - 1:lo + w - 1 + len(X)] = sc
    return out


def haar_scores(x):
    """Per scale s the |Haar detail| at each row (nan before 2s readings)."""
    x = np.asarray(x, float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    out = {}
    for s in SCALES:
        d = np.full(len(x), np.nan)
        i = np.arange(2 * s - 1, len(x))
        d[i] = np.abs((c[i + 1] - c[i + 1 - s]) - (c[i + 1 - s] - c[i + 1 - 2 * s])) / s
        out[s] = d
    return out


def flags(scores, win, start, judge_from, Fm):
    """scores: list of per-row arrays (one per scale / channel); a row is flagged when any exceeds Fm times the
    largest of its rows from `start` to one window back (the reference holding >= READY windows)."""
    n = len(scores[0])
    flag = np.zeros(n, bool)
    for sc in scores:
        v = np.where(np.isfinite(sc), sc, -np.inf)
        ref = np.full(n, -np.inf)
        cnt = np.zeros(n)
        if n > win + start:
            seg = v[start:n - win]
            ref[start + win:] = np.maximum.accumulate(seg)
            cnt[start + win:] = np.cumsum(np.isfinite(sc[start:n - win]))
        ok = np.isfinite(sc) & np.isfinite(ref) & (cnt >= max(READY * win, 1)) & (np.arange(n) >= judge_from)
        flag |= ok & (v > Fm * ref)
    return flag


def score_list(kind, x, w):
    return [sr_score(x, w)] if kind == 'sr' else list(haar_scores(x).values())


def win_of(kind, w):
    return w if kind == 'sr' else 2 * max(SCALES)


mode = args[1]
if mode == 'msl':
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location('disc', os.path.join(here, 'msl-discord-offline.py'))
    sys.argv = [sys.argv[0], args[0], 'sustained']
    disc = importlib.util.module_from_spec(spec)
    src = open(spec.origin).read().split("\nif mode == 'discord':")[0]
    exec(compile(src, spec.origin, 'exec'), disc.__dict__)

    def tally(extra):
        found = fa = 0; gains = []; fas = []
        for ch, F in disc.files.items():
            t, a = F['t'], F['a']
            te = t >= 0
            on = te & ((a > 0) | extra.get(ch, np.zeros(len(t), bool)))
            idx = np.where(on)[0]
            runs = np.split(idx, np.where(np.diff(idx) > 16)[0] + 1) if len(idx) else []
            for s, e in disc.labs[ch]:
                if any(((t[r] >= s) & (t[r] <= e)).any() for r in runs):
                    found += 1
                    if not (te & (a > 0) & (t >= s) & (t <= e)).any():
                        gains.append(f'{ch}:{s}')
            for r in runs:
                if not any(((t[r] >= s) & (t[r] <= e)).any() for s, e in disc.labs[ch]):
                    fa += 1
                    if not (a[r] > 0).any():
                        fas.append(f'{ch}:{int(t[r[0]])}')
        return found, fa, gains, fas

    f0, fa0, _, _ = tally({})
    for kind in KINDS:
        for w in (WS if kind == 'sr' else [0]):
            win = win_of(kind, w)
            sl = {ch: score_list(kind, F['v'], w) for ch, F in disc.files.items()}
            # per missed event: peak against the file's normal test rows and the train's second half (for haar:
            # each scale's score over its own train-half maximum, the largest of the scales)
            if kind == 'sr':
                disc.report(f'sr w={w}', {ch: s[0] for ch, s in sl.items()}, win)
            else:
                rel = {}
                for ch, F in disc.files.items():
                    ntr = int((F['t'] < 0).sum())
                    rel[ch] = np.nanmax(np.stack([s / max(np.nanmax(s[ntr // 2:ntr]), 1e-12) for s in sl[ch]]), 0)
                disc.report('haar (per scale over its train-half max, largest scale)', rel, win)
            print(f'=== {kind} w={w} (union with main; main alone {f0}/36, {fa0} FA, P/R {f0 / (f0 + fa0):.3f} / {f0 / 36:.3f}; ready {READY})')
            for Fm in FS:
                extra = {}
                for ch, F in disc.files.items():
                    t = F['t']; ntr = int((t < 0).sum())
                    judge = int(np.argmax(t >= 2 * win))
                    extra[ch] = flags(sl[ch], win, ntr // 2, judge, Fm)
                f, fa, g, fas = tally(extra)
                print(f'  F={Fm}: {f}/36, {fa} FA, P/R {f / max(f + fa, 1):.3f} / {f / 36:.3f}; gains {" ".join(g)}; new FA {" ".join(fas)}')
elif mode == 'skab':
    for kind in KINDS:
        for w in (WS if kind == 'sr' else [0]):
            win = win_of(kind, w)
            for Fm in FS:
                ev_f = ev_n = fa = 0; per = []
                for f in sorted(glob.glob(os.path.join(args[0], '*', '*.csv'))):
                    if 'anomaly-free' in f:
                        continue
                    rows = list(csv.DictReader(open(f), delimiter=';'))
                    lab = np.array([float(r['anomaly']) for r in rows])
                    n = len(rows)
                    flag = np.zeros(n, bool)
                    for c in [k for k in rows[0] if k not in ('datetime', 'anomaly', 'changepoint')]:
                        flag |= flags(score_list(kind, np.array([float(r[c]) for r in rows]), w), win, 200, 400, Fm)
                    lr = np.where(lab[400:] > 0)[0] + 400
                    evs = np.split(lr, np.where(np.diff(lr) > 1)[0] + 1) if len(lr) else []
                    found = sum(1 for e in evs if flag[e].any())
                    fl = np.where(flag)[0]
                    far = sum(1 for r in (np.split(fl, np.where(np.diff(fl) > 16)[0] + 1) if len(fl) else []) if not lab[r].any())
                    ev_f += found; ev_n += len(evs); fa += far
                    if far:
                        per.append(f'{os.path.relpath(f, args[0])}:{far}')
                print(f'SKAB {kind} w={w} F={Fm} ready={READY}: events {ev_f}/{ev_n}, false alarms as scored {fa}; {" ".join(per)}')
else:
    runs_of = json.load(open(os.path.join(args[0], 'labels', 'anomaly_runs.json')))
    for kind in KINDS:
        for w in (WS if kind == 'sr' else [0]):
            win = win_of(kind, w)
            for Fm in FS:
                evt = ev_n = fa = 0; per = []
                for name, runs in sorted(runs_of.items()):
                    rows = list(csv.DictReader(open(os.path.join(args[0], 'data', name))))
                    ts = [datetime.datetime.fromisoformat(r['timestamp']) for r in rows]
                    x = np.array([float(r['value']) for r in rows])
                    n = len(x); learn = min(int(0.15 * n), 750)
                    lab = np.zeros(n, bool); evs = []
                    for r in runs:
                        a = datetime.datetime.fromisoformat(r['start'][:19]); b = datetime.datetime.fromisoformat(r['end'][:19])
                        mm = np.array([a <= t <= b for t in ts]); lab |= mm; evs.append(mm)
                    flag = flags(score_list(kind, x, w), win, learn // 2, learn, Fm)
                    fl = np.where(flag)[0]
                    f_runs = [r for r in (np.split(fl, np.where(np.diff(fl) > 16)[0] + 1) if len(fl) else []) if not lab[r].any()]
                    found = sum(1 for mm in evs if flag[mm].any())
                    evt += found; ev_n += len(evs); fa += len(f_runs)
                    if f_runs or found:
                        per.append(f'{name}:{found}/{len(evs)}+{len(f_runs)}FA')
                print(f'dev {kind} w={w} F={Fm} ready={READY}: events {evt}/{ev_n}, false alarms as scored {fa}; {" ".join(per)}')
