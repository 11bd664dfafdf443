#!/usr/bin/env python3
"""MSL's missed pattern events against ordinal-pattern evidence (numpy; offline, nothing in the detector; branch `msl`,
sixteenth session).

    python3 scripts/msl-ordinal-offline.py DUMP msl [--d 3,4] [--w 64,128] [--score kl,ce] [--union] [--ready K] [--drop 0.01 | --dup 0.001] [--seed 1]
    python3 scripts/msl-ordinal-offline.py DEVDIR dev [--d 4] [--w 128] [--score kl] [--F 1.5]
    python3 scripts/msl-ordinal-offline.py DEMODIR demo [--d 4] [--w 128] [--score kl] [--F 1.5] [--ready 2] [--learn 3600]
    python3 scripts/msl-ordinal-offline.py SKABDIR skab [--d 3] [--w 64] [--score kl] [--F 1.0,1.5]

The evidence: the ordinal patterns of a stream (Bandt and Pompe, "Permutation entropy: a natural complexity measure
for time series", Phys. Rev. Lett. 88, 2002; their use for change detection: Cao, Tung, Gao, Protopopescu and Hively,
"Detecting dynamical changes in time series using the permutation entropy", Phys. Rev. E 70, 2004). Each row's
pattern is the order of the d readings ending at it (ties kept as ties, the "modified" patterns of Bian et al., Phys.
Rev. E 85, 2012: each pair's sign of change, -1, 0 or +1, so a held value is its own pattern). Patterns are counted in
readings and are unchanged by any monotone map of the values (offset, gain, units) and by the time between readings:
the same at any sampling rate. A pulse train that toggles more often, a ramp that resets at another phase, a plateau
held longer than usual change how often each pattern occurs without any value or change leaving its range: the
contextual misses (BENCHMARKS.md, sections `mslrecall`, `msl7`, `msl8`).

Per row i: the newest w patterns' distribution p against the history q of every pattern up to the window's start
(train rows, then test rows; counts + 1/2 per realisable pattern), scored as KL(p || q) (`kl`, what the window's
patterns say that the history did not) or the cross-entropy -sum p log q (`ce`, the window's mean surprise).

msl: DUMP from `node scripts/evidence-dump.mjs ROOT DUMP all ../shared/datasets` (values, labels, main's alarms);
  the same report as scripts/msl-discord-offline.py: per missed event its peak against the file's normal test rows
  and the train's second half, then the streaming rule (a test row flagged when its score exceeds F times the
  largest of the rows from the train's middle to one window back), events found, main's misses found, false
  stretches added (flagged rows outside labels and main's alarms, runs more than 100 rows apart).
  --union: instead, main's alarms with the rule's flags added, scored as the evaluation scores events (runs of
  flagged or alarmed rows, gaps of at most 16 readings merged; a run touching a label finds it, one touching none is
  a false alarm): events, false alarms and event P / R per F, main alone first. --ready K: the reference must hold
  at least K windows (K * w) of scored rows before a row is judged (0: any). --drop P --seed S: P of the readings
  dropped at random (the first row of each label kept), as the time-scale test drops 1 % (src/eval/transform.ts);
  --dup P: P of the readings delivered twice (a held value for one reading), each row scored at its second copy.
skab: the same streaming rule on SKAB's 34 files (rows 0-399 learnt, 8 channels, a row flagged when any is); per file
  FILE:R/A, R runs of flagged normal rows (16 apart), A of them false alarms as scored.
dev: the same on the development corpus (DEVDIR from `node scripts/write-corpus.mjs --out DEVDIR`, seed 1; each
  file's first min(15 %, 750) rows learnt, the reference from half of them on).
demo: the same on the demo's series (DIR from `node scripts/demo-series.mjs . DIR 6 1000 3600`; rows before LEARN,
  --learn 3600, learnt, the reference from half of them on): per sensor, injections flagged (a flag from their start
  to alerts.closeAfter = 16 rows after their end) by kind, and false alarms (flagged runs touching no injection).
For skab and dev, "false alarms as scored": runs of flagged rows (gaps of at most 16 rows merged) touching no label.
"""
import csv, glob, importlib.util, itertools, os, sys
import numpy as np

args = sys.argv[1:]
if len(args) < 2 or args[1] not in ('msl', 'skab', 'dev', 'demo'):
    sys.exit(__doc__)


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


def codes(x, d):
    """Per row (from d-1 on) the tie-aware ordinal pattern of x[i-d+1..i] as an integer; -1 before."""
    n = len(x)
    out = np.full(n, -1, np.int64)
    if n < d:
        return out
    W = np.lib.stride_tricks.sliding_window_view(x, d)
    c = np.zeros(len(W), np.int64)
    for j, k in itertools.combinations(range(d), 2):
        c = c * 3 + (np.sign(W[:, k] - W[:, j]).astype(np.int64) + 1)
    out[d - 1:] = c
    return out


def realisable(d):
    s = set()
    for vals in itertools.product(range(d), repeat=d):
        c = 0
        for j, k in itertools.combinations(range(d), 2):
            c = c * 3 + (int(np.sign(vals[k] - vals[j])) + 1)
        s.add(c)
    return sorted(s)


def ordinal_score(x, d, w, kind):
    """Per row the window-vs-history score (nan until a window and some history exist)."""
    pats = realisable(d)
    ix = {c: k for k, c in enumerate(pats)}
    cs = codes(np.asarray(x, float), d)
    K = len(pats)
    k_of = np.array([ix[c] if c >= 0 else -1 for c in cs])
    n = len(x)
    out = np.full(n, np.nan)
    hist = np.full(K, 0.5)
    win = np.zeros(K)
    for i in range(n):
        if k_of[i] >= 0:
            win[k_of[i]] += 1
        j = i - w
        if j >= 0 and k_of[j] >= 0:
            win[k_of[j]] -= 1
            hist[k_of[j]] += 1
        if i >= d - 1 + w + w:  # a full window and at least a window of history
            p = win / win.sum()
            lq = np.log(hist / hist.sum())
            nz = p > 0
            if kind == 'kl':
                out[i] = float((p[nz] * (np.log(p[nz]) - lq[nz])).sum())
            else:
                out[i] = float(-(p[nz] * lq[nz]).sum())
    return out


def union(name, score, win):
    """Main's alarms with the rule's flags added, scored as the evaluation scores events: alarm runs (flagged or
    alarmed rows, gaps of at most 16 readings, `alerts.closeAfter`, merged) touching a label find it; a run touching
    none is one false alarm. Printed per F: events found, false alarms, event P / R (main alone first)."""
    def tally(extra):
        found = fa = 0; gains = []; fas = []
        for ch, F in disc.files.items():
            t, a = F['t'], F['a']
            te = t >= 0
            on = te & ((a > 0) | extra.get(ch, np.zeros(len(t), bool)))
            idx = np.where(on)[0]
            runs = np.split(idx, np.where(np.diff(idx) > 16)[0] + 1) if len(idx) else []
            labs = disc.labs[ch]
            for s, e in labs:
                if any(((t[r] >= s) & (t[r] <= e)).any() for r in runs):
                    found += 1
                    if not (te & (a > 0) & (t >= s) & (t <= e)).any():
                        gains.append(f'{ch}:{s}')
            for r in runs:
                if not any(((t[r] >= s) & (t[r] <= e)).any() for s, e in labs):
                    fa += 1
                    if not (a[r] > 0).any():
                        fas.append(f'{ch}:{int(t[r[0]])}')
        return found, fa, gains, fas
    f0, fa0, _, _ = tally({})
    print(f'=== {name} (union with main; main alone {f0}/36, {fa0} FA, P/R {f0 / (f0 + fa0):.3f} / {f0 / 36:.3f})')
    for Fm in (1.0, 1.1, 1.25, 1.5, 2.0):
        extra = {}
        for ch, F in disc.files.items():
            sc = score[ch]; t = F['t']
            n = len(t); ntr = int((t < 0).sum())
            ref = -np.inf; nref = 0; flag = np.zeros(n, bool)
            for i in range(n):
                j = i - win
                if j >= ntr // 2 and np.isfinite(sc[j]):
                    ref = max(ref, sc[j]); nref += 1
                if t[i] >= 2 * win and np.isfinite(sc[i]) and nref >= READY * win and sc[i] > Fm * ref:
                    flag[i] = True
            extra[ch] = flag
        f, fa, g, fas = tally(extra)
        print(f'  F={Fm}: {f}/36, {fa} FA, P/R {f / max(f + fa, 1):.3f} / {f / 36:.3f}; gains {" ".join(g)}; new FA {" ".join(fas)}')


mode = args[1]
DROP = float(opt('--drop', '0'))  # msl: a share of readings dropped at random (seed --seed), as the time-scale test
DUP = float(opt('--dup', '0'))  # msl: a share of readings delivered twice (the time-scale test's 0.1 %), seed --seed
SEED = int(opt('--seed', '1'))
READY = float(opt('--ready', '0'))  # the reference must hold at least READY windows of scored rows (0: any)
ds = [int(v) for v in opt('--d', '3,4').split(',')]
ws = [int(v) for v in opt('--w', '64,128').split(',')]
kinds = opt('--score', 'kl,ce').split(',')

if mode == 'msl':
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location('disc', os.path.join(here, 'msl-discord-offline.py'))
    sys.argv = [sys.argv[0], args[0], 'sustained']  # load its files and report() only
    disc = importlib.util.module_from_spec(spec)
    src = open(spec.origin).read().split("\nif mode == 'discord':")[0]
    exec(compile(src, spec.origin, 'exec'), disc.__dict__)
    for kind in kinds:
        for d in ds:
            for w in ws:
                score = {}
                for ch, F in disc.files.items():
                    if DROP > 0:  # the time-scale test's lost readings (src/eval/transform.ts): scored as absent
                        rng = np.random.default_rng(SEED)
                        keep = rng.random(len(F['v'])) >= DROP
                        for s0, e0 in disc.labs[ch]:
                            keep[np.where(F['t'] == s0)[0]] = True
                        sc = np.full(len(keep), np.nan)
                        sc[keep] = ordinal_score(F['v'][keep], d, w, kind)
                        score[ch] = sc
                    elif DUP > 0:  # readings delivered twice (a repeated value), each row scored at its last copy
                        rng = np.random.default_rng(SEED)
                        reps = np.where(rng.random(len(F['v'])) < DUP, 2, 1)
                        sc = ordinal_score(np.repeat(F['v'], reps), d, w, kind)
                        score[ch] = sc[np.cumsum(reps) - 1]
                    else:
                        score[ch] = ordinal_score(F['v'], d, w, kind)
                if '--union' in args:
                    union(f'ordinal d={d} w={w} score={kind}', score, w)
                else:
                    disc.report(f'ordinal d={d} w={w} score={kind}', score, w)
elif mode == 'demo':
    learn = int(opt('--learn', '3600'))
    for Fm, kind in [(float(f), k) for f in opt('--F', '1.0').split(',') for k in kinds]:
        for d in ds:
            for w in ws:
                out = []; tfa = 0
                for f in sorted(glob.glob(os.path.join(args[0], '*.csv'))):
                    rows = list(csv.DictReader(open(f)))
                    x = np.array([float(r['value']) for r in rows]); inj = np.array([r['injected'] == '1' for r in rows])
                    n = len(x)
                    idx = np.where(inj)[0]
                    spans = [(g[0], g[-1], rows[g[0]]['kind']) for g in (np.split(idx, np.where(np.diff(idx) > 1)[0] + 1) if len(idx) else [])]
                    near = inj.copy()
                    for s0, e0, _ in spans:
                        near[s0:e0 + 17] = True
                    sc = ordinal_score(x, d, w, kind)
                    flag = np.zeros(n, bool); ref = -np.inf; nref = 0
                    for i in range(n):
                        j = i - w
                        if j >= learn // 2 and np.isfinite(sc[j]):
                            ref = max(ref, sc[j]); nref += 1
                        if i >= learn and np.isfinite(sc[i]) and nref >= max(READY * w, 1) and sc[i] > Fm * ref:
                            flag[i] = True
                    by = {}
                    for s0, e0, k in spans:
                        c = by.setdefault(k, [0, 0]); c[1] += 1; c[0] += int(flag[s0:e0 + 17].any())
                    fl = np.where(flag)[0]
                    fa = sum(1 for r in (np.split(fl, np.where(np.diff(fl) > 16)[0] + 1) if len(fl) else []) if not near[r].any())
                    tfa += fa
                    out.append(f'{os.path.basename(f)[:-4]}: ' + ', '.join(f'{k} {a}/{b}' for k, (a, b) in by.items()) + f', {fa} FA')
                print(f'demo ordinal d={d} w={w} score={kind} F={Fm} ready={READY}: {tfa} false alarms; ' + '; '.join(out))
elif mode == 'dev':
    import datetime, json
    runs_of = json.load(open(os.path.join(args[0], 'labels', 'anomaly_runs.json')))
    for Fm, kind in [(float(f), k) for f in opt('--F', '1.0').split(',') for k in kinds]:
        for d in ds:
            for w in ws:
                evt = ev_n = fa = 0
                per = []
                for name, runs in sorted(runs_of.items()):
                    rows = list(csv.DictReader(open(os.path.join(args[0], 'data', name))))
                    ts = [datetime.datetime.fromisoformat(r['timestamp']) for r in rows]
                    x = np.array([float(r['value']) for r in rows])
                    n = len(x); learn = min(int(0.15 * n), 750)
                    lab = np.zeros(n, bool); evs = []
                    for r in runs:
                        a = datetime.datetime.fromisoformat(r['start'][:19]); b = datetime.datetime.fromisoformat(r['end'][:19])
                        m = np.array([a <= t <= b for t in ts]); lab |= m; evs.append(m)
                    sc = ordinal_score(x, d, w, kind)
                    flag = np.zeros(n, bool); ref = -np.inf; nref = 0
                    for i in range(n):
                        j = i - w
                        if j >= learn // 2 and np.isfinite(sc[j]):
                            ref = max(ref, sc[j]); nref += 1
                        if i >= learn and np.isfinite(sc[i]) and nref >= max(READY * w, 1) and sc[i] > Fm * ref:
                            flag[i] = True
                    fl = np.where(flag)[0]
                    f_runs = [r for r in (np.split(fl, np.where(np.diff(fl) > 16)[0] + 1) if len(fl) else []) if not lab[r].any()]
                    found = sum(1 for m in evs if flag[m].any())
                    evt += found; ev_n += len(evs); fa += len(f_runs)
                    if f_runs or found:
                        per.append(f'{name}:{found}/{len(evs)}+{len(f_runs)}FA')
                print(f'dev ordinal d={d} w={w} score={kind} F={Fm}: events {evt}/{ev_n}, false alarms as scored {fa}; {" ".join(per)}')
else:
    for Fm, kind in [(float(f), k) for f in opt('--F', '1.0').split(',') for k in kinds]:
        for d in ds:
            for w in ws:
                tot = [0, 0, 0, 0]
                tot4 = 0
                per = []
                for f in sorted(glob.glob(os.path.join(args[0], '*', '*.csv'))):
                    if 'anomaly-free' in f:
                        continue
                    rows = list(csv.DictReader(open(f), delimiter=';'))
                    lab = np.array([float(r['anomaly']) for r in rows])
                    n = len(rows)
                    flag = np.zeros(n, bool)
                    for c in [k for k in rows[0] if k not in ('datetime', 'anomaly', 'changepoint')]:
                        sc = ordinal_score(np.array([float(r[c]) for r in rows]), d, w, kind)
                        for i in range(400, n):
                            seen = sc[200:i - w + 1] if i - w + 1 > 200 else sc[:0]
                            ok = np.isfinite(seen)
                            if np.isfinite(sc[i]) and ok.sum() >= max(READY * w, 1) and sc[i] > Fm * seen[ok].max():
                                flag[i] = True
                    lr = np.where(lab[400:] > 0)[0] + 400
                    evs = np.split(lr, np.where(np.diff(lr) > 1)[0] + 1) if len(lr) else []
                    found = sum(1 for e in evs if flag[e].any())
                    fr = np.where(flag & (lab == 0))[0]
                    runs = len(np.split(fr, np.where(np.diff(fr) > 16)[0] + 1)) if len(fr) else 0
                    fl = np.where(flag)[0]  # as the evaluation counts: flagged runs (gaps <= 16) touching no label
                    fa_runs = sum(1 for r in (np.split(fl, np.where(np.diff(fl) > 16)[0] + 1) if len(fl) else [])
                                  if not lab[r].any())
                    tot = [tot[0] + found, tot[1] + len(evs), tot[2] + runs, tot[3] + len(fr)]
                    tot4 += fa_runs
                    if runs:
                        per.append(f'{os.path.relpath(f, args[0])}:{runs}/{fa_runs}')
                print(f'SKAB ordinal d={d} w={w} score={kind} F={Fm}: events {tot[0]}/{tot[1]}, false runs {tot[2]}, '
                      f'false rows {tot[3]}; flagged runs touching no label (false alarms as scored) {tot4}; {" ".join(per)}')
