#!/usr/bin/env python3
"""Offline look (not part of the detector): does dwell / transition evidence of a discrete channel's states separate
MSL's contextual misses from its normal rows? BENCHMARKS.md, "Tried, not kept: dwell times and transitions of a discrete channel's states … (branch `dwell`)".

States of a channel: the modes of its train part's value histogram (bins one typical change wide, the geometric mean of
its nonzero absolute changes, akin to rarity's; or 64 bins over its 0.1 %-99.9 % range), bins holding at least SHARE
of the train values, adjacent ones joined; a value in no mode keeps the state it follows; fewer than two modes (or more
than 4096 bins): the channel has no states (null). Or its distinct values, when it has 2 to 16.
Explicit-duration model (hidden semi-Markov models, Yu 2010, Artificial Intelligence 174: a per-state dwell law and a
transition matrix; here the states are observed): per state the log dwell in readings is normal with unknown mean and
variance, so a dwell is judged by the Student-t predictive (N - 1 degrees of freedom); transitions by counts (add 1/2).
The evidence of a reading, in -log10 p: max(the survival of the current run, P(D >= run); the two-sided probability of
the dwell that just ended and the transition just made, held HOLD readings).
Calibration as tail.ts (empirical below the 90th percentile of the history, a GPD fitted by moments above with
xi in [0, 0.45], scale >= 0.1 u), fused into main's per-row reference evidence from scripts/evidence-dump.mjs:
d' = max(0, max(kinds, dwell) - log10(kinds that spoke + 1)); an alarm gained where d' >= 5 and main's is not open.

  python3 scripts/dwell-offline.py DUMPDIR [DATA]      (needs scipy; DUMPDIR from evidence-dump.mjs on main)
"""
import bisect, collections, copy, csv, glob, json, math, os, sys
from scipy import stats

DUMP = sys.argv[1]
DATA = os.path.join(sys.argv[2] if len(sys.argv) > 2 else '../shared/datasets', 'msl')
HOLD = 30
# the 14 contextual misses of main (BENCHMARKS.md, branch `mslrecall`), by event index in their file
MISSED = {'C-1': [1], 'F-4': [0], 'F-7': [0, 1, 2], 'M-2': [0], 'M-3': [0], 'M-4': [0], 'M-5': [0], 'T-8': [0, 1], 'T-12': [0], 'T-13': [0, 1]}


def events(lab):
    ev, i = [], 0
    while i < len(lab):
        if lab[i]:
            j = i
            while j < len(lab) and lab[j]:
                j += 1
            ev.append((i, j))
            i = j
        else:
            i += 1
    return ev


def modes_of(tr, width, share):
    s = sorted(tr)
    lo, hi = s[int(0.001 * len(s))], s[int(0.999 * len(s)) - 1]
    if hi <= lo:
        return None
    if width == 'typical':
        dd = [abs(a - b) for a, b in zip(tr, tr[1:]) if a != b]
        w = math.exp(sum(math.log(x) for x in dd) / len(dd))
    else:
        w = (hi - lo) / width
    if (hi - lo) / w > 4096:
        return None
    nb = int((hi - lo) / w) + 1
    b_of = lambda v: min(nb - 1, max(0, int(math.floor((v - lo) / w))))
    cnt = collections.Counter(b_of(v) for v in tr)
    modes = []
    for b in (b for b in range(nb) if cnt[b] >= share * len(tr)):
        if modes and modes[-1][1] == b - 1:
            modes[-1][1] = b
        else:
            modes.append([b, b])
    if len(modes) < 2:
        return None
    m = {b: i for i, (a, c) in enumerate(modes) for b in range(a, c + 1)}
    f = lambda v, prev: m.get(b_of(v), prev)
    f.n = len(modes)
    return f


def distinct_of(tr):
    d = sorted(set(tr))
    if not 2 <= len(d) <= 16:
        return None
    idx = {v: i for i, v in enumerate(d)}
    f = lambda v, prev: idx.get(v, prev)
    f.n = len(d)
    return f


def t_tails(d, r):
    """P(D >= r), P(D <= r) under the Student-t predictive of ln D from the dwells d (None below 3 dwells)."""
    n = len(d)
    if n < 3:
        return None
    l = [math.log(x) for x in d]
    mu = sum(l) / n
    sd = max(0.1, math.sqrt(sum((x - mu) ** 2 for x in l) / (n - 1)))
    z = (math.log(r) - mu) / (sd * math.sqrt(1 + 1 / n))
    return stats.t.sf(z, n - 1), stats.t.cdf(z, n - 1)


class Dwell:
    def __init__(self, f):
        self.f, self.dw, self.tc, self.fc = f, collections.defaultdict(list), collections.Counter(), collections.Counter()
        self.cur, self.run, self.hold, self.since = None, 0, 0.0, 0

    def step(self, v, learn=True):
        st = self.f(v, self.cur)
        if st is None:
            return 0.0
        e = 0.0
        if self.cur is None:
            self.cur, self.run = st, 1
        elif st == self.cur:
            self.run += 1
        else:
            tt = t_tails(self.dw[self.cur], self.run)
            if tt is not None:
                e = -math.log10(max(1e-300, min(1, 2 * min(tt))))
            if self.fc[self.cur] >= 3:
                p = (self.tc[(self.cur, st)] + 0.5) / (self.fc[self.cur] + 0.5 * max(1, self.f.n - 1))
                e = max(e, -math.log10(min(1, p)))
            if learn:
                self.dw[self.cur].append(self.run)
                self.tc[(self.cur, st)] += 1
                self.fc[self.cur] += 1
            self.cur, self.run = st, 1
        if e > 0:
            self.hold, self.since = e, 0
        else:
            self.since += 1
            if self.since > HOLD:
                self.hold = 0.0
        tt = t_tails(self.dw[self.cur], self.run)
        surv = -math.log10(max(1e-300, tt[0])) if tt is not None else 0.0
        return max(surv, self.hold)


def surprise(h, e, shape=True):
    n = len(h)
    if n < 50:
        return 0.3
    u = h[int(0.9 * n)]
    if e <= u:
        return -math.log10(max(1 / n, (n - bisect.bisect_left(h, e)) / n))
    ex = [x - u for x in h[int(0.9 * n):] if x > u]
    qu = max(len(ex), 1) / n
    if len(ex) < 3:
        m = max(u, 1e-3) * 0.1
        v = m * m
    else:
        m = sum(ex) / len(ex)
        v = sum((x - m) ** 2 for x in ex) / (len(ex) - 1) or m * m
    xi = min(max(0.5 * (1 - m * m / v), 0), 0.45) if shape else 0.0
    sig = max(0.5 * m * (m * m / v + 1), 0.1 * u, 1e-3)
    if xi < 1e-9:
        return min(30, -math.log10(qu) + (e - u) / sig / math.log(10))
    return min(30, -math.log10(qu) + math.log10(1 + xi * (e - u) / sig) / xi)


def load(ch):
    tr = [float(r['value']) for r in csv.DictReader(open(f'{DATA}/{ch}.train.csv'))]
    rows = list(csv.DictReader(open(f'{DATA}/{ch}.test.csv')))
    return tr, [float(r['value']) for r in rows], [int(r['anomaly']) for r in rows]


STATES = {'typical 1 %': lambda tr: modes_of(tr, 'typical', 0.01), 'typical 2 %': lambda tr: modes_of(tr, 'typical', 0.02),
          'range/64 1 %': lambda tr: modes_of(tr, 64, 0.01), 'distinct <= 16': distinct_of}

# 1. Raw evidence: per missed event its peak, against the maximum over the file's normal test rows and its train rows
#    (model learnt on train, then on the test's normal rows).
print('| missed event | ' + ' | '.join(STATES) + ' |\n|---|' + '---|' * len(STATES))
raw = {}
for ch in MISSED:
    tr, te, lab = load(ch)
    ev = events(lab)
    for name, mk in STATES.items():
        f = mk(tr)
        if f is None:
            raw[ch, name] = None
            continue
        m = Dwell(f)
        rt = [m.step(v) for v in tr]
        r = [m.step(v, learn=lab[t] == 0) for t, v in enumerate(te)]
        raw[ch, name] = (max(rt), max(r[t] for t in range(len(te)) if lab[t] == 0), [max(r[a:b]) for a, b in ev], f.n)
    for i in MISSED[ch]:
        cells = []
        for name in STATES:
            x = raw[ch, name]
            if x is None:
                cells.append('null')
                continue
            b = '**' if x[2][i] > max(x[0], x[1]) else ''
            cells.append(f'{b}{x[2][i]:.1f}{b} ({x[1]:.1f}; {x[0]:.1f}; {x[3]})')
        print(f'| {ch} #{i + 1} | ' + ' | '.join(cells) + ' |')

# 2. Calibrated and fused into main's deviation, three ways of learning.
HOW = {'adaptive': dict(warm=False, learn=True, teach=True, shape=True), 'warm': dict(warm=True, learn=True, teach=True, shape=True),
       'frozen': dict(warm=True, learn=False, teach=False, shape=True)}
for sname in ('typical 1 %', 'typical 2 %', 'range/64 1 %', 'distinct <= 16'):
    for hname, how in HOW.items():
        gained, fas, peaks, nmax = [], [], [], []
        for fn in sorted(glob.glob(os.path.join(DUMP, '*.jsonl'))):
            ch = os.path.basename(fn)[:-6]
            rows = [json.loads(l) for l in open(fn)]
            tr = [x['v'] for x in rows if x['t'] < 0]
            f = STATES[sname](tr)
            if f is None:
                continue
            m, hist = Dwell(f), []
            if how['warm']:
                for v in tr:
                    m.step(v)
                m2 = copy.deepcopy(m)
                m2.cur, m2.run = None, 0
                hist = sorted(m2.step(v, learn=False) for v in tr)
                m.hold = 0.0
            lab = [x['lab'] for x in rows if x['t'] >= 0]
            per = {}
            for x in rows:
                if how['warm'] and x['t'] < 0:
                    continue
                e = m.step(x['v'], learn=how['learn'])
                s = surprise(hist, e, how['shape']) if x['st'] != 'learning' else 0.0
                dv = [v for v in x['dv'].values() if v is not None]
                nd = max(0.0, max(dv + [s]) - math.log10(len(dv) + 1)) if x['st'] != 'learning' else 0.0
                if how['teach'] and nd < 4.5:
                    bisect.insort(hist, e)
                if x['t'] >= 0:
                    per[x['t']] = (nd, x['a'], x['d'], s)
            ev = events(lab)
            nmax.append(f'{ch} {max(per[t][3] for t in per if lab[t] == 0):.1f}')
            for i in MISSED.get(ch, []):
                a, b = ev[i]
                peaks.append(f'{ch}#{i + 1} {max(per[t][3] for t in range(a, b)):.1f}')
            groups = []
            for t in sorted(t for t in per if per[t][0] >= 5 and per[t][1] == 0 and per[t][2] < 5):
                if groups and t - groups[-1][-1] <= 40:
                    groups[-1].append(t)
                else:
                    groups.append([t])
            hits = {}
            for g in groups:
                hit = [i for i, (a, b) in enumerate(ev) if any(a <= t <= b for t in g)]
                if hit:
                    hits[hit[0]] = max(hits.get(hit[0], 0.0), max(per[t][3] for t in g))
                else:
                    fas.append(f'{ch} row {g[0]} ({max(per[t][3] for t in g):.1f})')
            for i, pk in sorted(hits.items()):
                a, b = ev[i]
                found = any(per[t][1] for t in range(a, b))
                gained.append(f'{ch}#{i + 1} ({pk:.1f}{", found by main already" if found else ""})')
        print(f'\n{sname}, {hname}: calibrated dwell peak in the missed events: {", ".join(peaks) or "-"}')
        print(f'  calibrated dwell maximum on the normal test rows: {", ".join(nmax)}')
        print(f'  alarm gained in an event: {", ".join(gained) or "none"}; new alarm on normal rows: {", ".join(fas) or "none"}')
