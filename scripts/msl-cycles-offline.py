#!/usr/bin/env python3
"""MSL's missed pulse-train and ramp events against four kinds of per-cycle and long-window evidence the detector
lacks (numpy; offline, nothing in the detector; branch `msl8`).

    python3 scripts/msl-cycles-offline.py MSLDIR [DUMP] [--modes period,amp,occ,runs] [--skab SKABDIR] [--show CFG] [--dev DEVDIR]
    python3 scripts/msl-cycles-offline.py MSLDIR DUMP --fuse J,K [--dev-dump DEVDUMP]
    (--show 'period (0.5, 2.0, 2)': that configuration only, with each MSL file's false runs)

MSLDIR: ../shared/datasets/msl (<channel>.train.csv, <channel>.test.csv with the `anomaly` label column, read for
scoring only: nothing below is fitted to it). DUMP (optional): `node scripts/evidence-dump.mjs ROOT DUMP all
../shared/datasets`, for main's alarms (`a`, per test row `t`): events main already finds and main's alarm rows are
then told apart from what a rule adds. SKABDIR: ../shared/datasets/skab; its 34 files under the evaluation's
protocol (rows 0-399 learnt, every channel judged, a row flagged when any channel is).

Every rule is streaming and counted in readings (no time unit): the train file is learnt, then the test file is
judged row by row and every judged cycle taught after its judgement (as a kind's history learns outside episodes).
Edges of a channel are readings whose change is at least J times the train file's 5-95 % range (both signs):
the switches of a pulse train, the resets of a saw-tooth.

period: per edge, the readings since the previous edge of the same sign (the cycle's period) and since the
  previous edge of the other sign (the pulse's width, or the gap's); flagged when either lies outside
  [min / F, max * F] of the at least NMIN such values seen: a pulse train whose period or duty changes, a ramp that
  resets early or late.
amp: per edge, the extreme reached since the previous edge of the same sign (a tooth's peak before its drop, a
  trough before a rise) and the level the edge lands at; flagged beyond the seen ones by more than G times the
  range: a pulse of a new height, a ramp cut low or held high.
occ: the cross-entropy of the newest W readings against the train file's value histogram (B bins at its
  quantiles, counts + 1/2), flagged above the largest of the train file's second half (in-sample: favourable) by M
  nats: a pulse train whose share of time high changes, a level held where the stream seldom sits.

runs: the last K cycles' periods and widths (per sign), each marked when it lies in the lowest (highest) tenth of
  the values seen before it (at least 16): flagged when the count of marked ones among K is binomially rarer than
  10^-S (q = 0.1, as if independent): a pulse train that keeps cycling faster or slower, not one odd cycle.

--fuse J,K (with DUMP, and --dev-dump DEVDUMP from `node scripts/evidence-dump.mjs ROOT DEVDUMP
dev:duty_cycle_frequency ../shared/datasets`): an upper bound of `runs` as an eleventh kind of evidence, its binomial
surprise at each edge uncalibrated, fused as d' = surprise - log10(kinds that spoke + 2); the rows where d' >= 5
(the shipped threshold), inside labels (main's events or misses) and outside labels and main's alarms.

DEVDIR: `node scripts/write-corpus.mjs --out DEVDIR` (seed 1): its plateaus/duty_cycle_frequency_1m.csv (a
compressor's duty cycle at 2-3x its speed for rows 6479-6864, probation 750 rows; main misses it), flagged rows in
and outside the label.

Printed per configuration: events flagged (of 36), main's misses flagged, and false runs (flagged test rows outside
labels and outside main's alarms, runs more than 100 rows apart), then the same for SKAB (false runs 16 rows apart).
"""
import csv, glob, json, os, sys
from math import comb, log10
import numpy as np

args = sys.argv[1:]
if not args or args[0].startswith('-'):
    sys.exit(__doc__)


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


msl = args[0]
dump = args[1] if len(args) > 1 and not args[1].startswith('-') else None
modes = opt('--modes', 'period,amp,occ,runs').split(',')
skab = opt('--skab', None)
dev = opt('--dev', None)
show = opt('--show', None)


def load(path):
    a = np.genfromtxt(path, delimiter=',', skip_header=1)
    return a[:, 1], (a[:, 2] if a.shape[1] > 2 else np.zeros(len(a)))


def runs_of(mask):
    idx = np.where(mask)[0]
    return np.split(idx, np.where(np.diff(idx) > 1)[0] + 1) if len(idx) else []


def edges_of(x, ntrain, J):
    q1, q9 = np.percentile(x[:ntrain], [5, 95])
    rng = q9 - q1 if q9 - q1 > 1e-9 else float(np.ptp(x[:ntrain]))
    if rng <= 1e-9:
        return None, 0.0, None
    d = np.diff(x, prepend=x[0])
    return np.where(np.abs(d) >= J * rng)[0], rng, d


def flag_period(x, ntrain, J, F, NMIN):
    edges, rng, d = edges_of(x, ntrain, J)
    out = np.zeros(len(x), bool)
    if edges is None:
        return out
    last = {1: None, -1: None}
    seen = {}
    for i in edges:
        s = 1 if d[i] > 0 else -1
        feats = []
        if last[s] is not None:
            feats.append(('p', s, i - last[s]))
        if last[-s] is not None:
            feats.append(('w', s, i - last[-s]))
        for key in feats:
            h = seen.setdefault(key[:2], [])
            v = key[2]
            if i >= ntrain and len(h) >= NMIN and (v < min(h) / F or v > max(h) * F):
                out[i] = True
            h.append(v)
        last[s] = i
    return out


def flag_amp(x, ntrain, J, G, NMIN):
    edges, rng, d = edges_of(x, ntrain, J)
    out = np.zeros(len(x), bool)
    if edges is None:
        return out
    last = {1: 0, -1: 0}
    seen = {}
    for i in edges:
        s = 1 if d[i] > 0 else -1
        seg = x[last[s]:i]
        if len(seg):
            ext = seg.min() if s > 0 else seg.max()
            for key, v in ((('e', s), ext), (('l', s), x[i])):
                h = seen.setdefault(key, [])
                if i >= ntrain and len(h) >= NMIN and (v < min(h) - G * rng or v > max(h) + G * rng):
                    out[i] = True
                h.append(v)
        last[s] = i
    return out


def flag_occ(x, ntrain, W, M, B=32):
    out = np.zeros(len(x), bool)
    xt = x[:ntrain]
    if ntrain < 2 * W:
        return out
    edges = np.unique(np.quantile(xt, np.linspace(0, 1, B + 1)[1:-1]))
    c = np.bincount(np.searchsorted(edges, xt, side='right'), minlength=len(edges) + 1) + 0.5
    nlp = -np.log(c / c.sum())[np.searchsorted(edges, x, side='right')]
    cs = np.convolve(nlp, np.ones(W) / W, 'valid')  # cs[j]: mean of rows j .. j+W-1, ends at row j+W-1
    ref = cs[(ntrain // 2):(ntrain - W + 1)].max()
    end = np.arange(W - 1, len(x))
    hit = end[cs > ref + M]
    out[hit[hit >= ntrain]] = True
    return out


def binom_sf(k, K, p):
    return sum(comb(K, j) * p**j * (1-p)**(K-j) for j in range(k, K+1))

def flag_runs(x, ntrain, J, K, S, q=0.1, NMIN=16):
    """The last K cycles' periods (and widths), per sign: how many lie in the seen values' lowest (highest) share q;
    flagged when the binomial tail of that count is below 10^-S."""
    edges, rng, d = edges_of(x, ntrain, J)
    out = np.zeros(len(x), bool)
    if edges is None:
        return out
    last = {1: None, -1: None}
    seen = {}; recent = {}
    for i in edges:
        s = 1 if d[i] > 0 else -1
        feats = []
        if last[s] is not None: feats.append((('p', s), i - last[s]))
        if last[-s] is not None: feats.append((('w', s), i - last[-s]))
        for key, v in feats:
            h = seen.setdefault(key, [])
            r = recent.setdefault(key, [])
            if len(h) >= NMIN:
                a = np.asarray(h)
                r.append((np.mean(a <= v) <= q, np.mean(a >= v) <= q))
                del r[:-K]
                if i >= ntrain and len(r) == K:
                    for side in (0, 1):
                        k = sum(t[side] for t in r)
                        if k and -log10(max(binom_sf(k, K, q), 1e-300)) >= S:
                            out[i] = True
            h.append(v)
        last[s] = i
    return out


def surprise_runs(x, ntrain, J, K, q=0.1, NMIN=16):
    """The `runs` evidence as a number per reading: -log10 of the binomial tail at each edge (0 elsewhere)."""
    edges, rng, d = edges_of(x, ntrain, J)
    out = np.zeros(len(x))
    if edges is None:
        return out
    last = {1: None, -1: None}
    seen = {}
    recent = {}
    for i in edges:
        s = 1 if d[i] > 0 else -1
        feats = []
        if last[s] is not None:
            feats.append((('p', s), i - last[s]))
        if last[-s] is not None:
            feats.append((('w', s), i - last[-s]))
        for key, v in feats:
            h = seen.setdefault(key, [])
            r = recent.setdefault(key, [])
            if len(h) >= NMIN:
                a = np.asarray(h)
                r.append((np.mean(a <= v) <= q, np.mean(a >= v) <= q))
                del r[:-K]
                if len(r) == K:
                    for side in (0, 1):
                        k = sum(t[side] for t in r)
                        if k:
                            out[i] = max(out[i], -log10(max(binom_sf(k, K, q), 1e-300)))
            h.append(v)
        last[s] = i
    return out


def fuse_report(dumpdir, J, K, TH=5.0):
    """Upper bound of `runs` as an eleventh kind: d' = surprise - log10(kinds that spoke + 2) >= TH at an edge."""
    for f in sorted(glob.glob(os.path.join(dumpdir, '*.jsonl'))):
        rows = [json.loads(l) for l in open(f)]
        v = np.array([r['v'] for r in rows], float)
        t = np.array([r['t'] for r in rows])
        ntrain = int((t < 0).sum())
        lab = np.array([r['lab'] for r in rows]) > 0
        a = np.array([r['a'] for r in rows]) > 0
        nk = np.array([sum(1 for z in r['dv'].values() if z is not None) for r in rows])
        dd = surprise_runs(v, ntrain, J, K) - np.log10(nk + 2)
        dd[:ntrain] = -9
        op = dd >= TH
        res = [('event', int(t[e[0]]), 'main' if a[e].any() else 'MISS', round(float(dd[e].max()), 2))
               for e in runs_of(lab) if op[e].any()]
        res += [('FALSE', int(t[e[0]]), round(float(dd[e].max()), 2)) for e in runs_of(op & ~lab & ~a)]
        if res:
            print(f'{os.path.basename(f)}: {res}')


GRID = {
    'period': [(J, F, N) for J in (0.3, 0.5, 0.8) for F in (1.0, 1.5, 2.0, 3.0) for N in (2, 4, 8)],
    'amp': [(J, G, 4) for J in (0.3, 0.5, 0.8) for G in (0.05, 0.1, 0.2, 0.3)],
    'occ': [(W, M) for W in (64, 128, 256) for M in (0.25, 0.5, 1.0)],
    'runs': [(J, K, S) for J in (0.3, 0.5) for K in (6, 10) for S in (4.0, 6.0)],
}
FLAG = {'period': flag_period, 'amp': flag_amp, 'occ': flag_occ, 'runs': flag_runs}

fuse = opt('--fuse', None)
if fuse:
    J, K = fuse.split(',')
    for dd_ in [dump, opt('--dev-dump', None)]:
        if dd_:
            fuse_report(dd_, float(J), int(K))
    sys.exit(0)

chans = sorted(os.path.basename(p)[:-9] for p in glob.glob(os.path.join(msl, '*.test.csv')))
data = {}
for ch in chans:
    xt, _ = load(os.path.join(msl, f'{ch}.train.csv'))
    xs, ls = load(os.path.join(msl, f'{ch}.test.csv'))
    alarm = np.zeros(len(xs), bool)
    if dump and os.path.exists(os.path.join(dump, f'{ch}.jsonl')):
        for line in open(os.path.join(dump, f'{ch}.jsonl')):
            r = json.loads(line)
            if r['t'] >= 0 and r['a']:
                alarm[int(r['t'])] = True
    data[ch] = (np.concatenate([xt, xs]), len(xt), ls > 0, alarm)

skabs = []
if skab:
    for f in sorted(glob.glob(os.path.join(skab, '*', '*.csv'))):
        if 'anomaly-free' in f:
            continue
        rows = list(csv.DictReader(open(f), delimiter=';'))
        lab = np.array([float(r['anomaly']) for r in rows]) > 0
        cols = [np.array([float(r[c]) for r in rows]) for c in rows[0] if c not in ('datetime', 'anomaly', 'changepoint')]
        skabs.append((os.path.relpath(f, skab), cols, lab))

for mode in modes:
    for cfg in GRID[mode]:
        name = f'{mode} {cfg}'
        if show and show != name:
            continue
        ev = found = miss = missfound = fa = 0
        detail = []
        for ch, (x, n, lab, alarm) in data.items():
            fl = FLAG[mode](x, n, *cfg)[n:]
            for e in runs_of(lab):
                ev += 1
                f_ = bool(fl[e].any())
                found += f_
                if not alarm[e].any():
                    miss += 1
                    missfound += f_
                    if f_:
                        detail.append(f'{ch}@{e[0]}')
            extra = runs_of(fl & ~lab & ~alarm)
            k = 0
            prev = -10**9
            for r in extra:
                if r[0] - prev > 100:
                    k += 1
                prev = r[-1]
            fa += k
            if show == name and k:
                print(f'  {ch}: {k} false run(s) from rows {[int(r[0]) for r in extra][:10]}')
        if dev:
            with open(os.path.join(dev, 'data', 'plateaus', 'duty_cycle_frequency_1m.csv')) as fh:
                xd = np.array([float(r[1]) for r in list(csv.reader(fh))[1:]])
            fd = FLAG[mode](xd, 750, *cfg)
            fd[:750] = False
            ld = np.zeros(len(xd), bool)
            ld[6479:6865] = True
            print(f'  dev duty_cycle_frequency_1m: flagged {int(fd[ld].sum())} in the label, {int((fd & ~ld).sum())} outside')
        line = f'{name}: events {found}/{ev}, misses {missfound}/{miss} ({" ".join(detail)}), false runs {fa}'
        if skabs:
            sf = sev = sfa = 0
            for rel, cols, lab in skabs:
                fl = np.zeros(len(lab), bool)
                for c in cols:
                    fl |= FLAG[mode](c, 400, *cfg)
                fl[:400] = False
                for e in runs_of(lab & (np.arange(len(lab)) >= 400)):
                    sev += 1
                    sf += bool(fl[e].any())
                fr = np.where(fl & ~lab)[0]
                sfa += len(np.split(fr, np.where(np.diff(fr) > 16)[0] + 1)) if len(fr) else 0
            line += f'; SKAB events {sf}/{sev}, false runs {sfa}'
        print(line, flush=True)
