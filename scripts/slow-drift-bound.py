"""Offline measurements for tryout 28, finding 2 (a slow drift beyond a bounded history, before a period is seen):
can the stream's own history before the drift tell it apart from a random walk or a wandering weather stream?
Not the detector: numpy only, to decide whether a detection kind is worth building (BENCHMARKS.md, "A slow drift
beyond a bounded history before a period is seen"; branch `slowdrift`).

Streams (counted in readings; the sampling rate does not enter):
  bed        the tryout's: 19 + 0.3 sin(2π k / 450) + N(0, 0.05), to 0.01, +0.005 per reading from reading 400 (to 955)
  beddown    the same drifting -0.005 per reading
  walk       20 + a Gaussian random walk of step 0.1
  weatherN   15 + an AR(1) of time constant 6 h, sd 2, read every N s, + N(0, 0.05)
  noisywalk  a random walk of step 0.01 under N(0, 0.1) noise

  python3 scripts/slow-drift-bound.py spans      range over spans and variance ratios of the 399 readings before the drift
  python3 scripts/slow-drift-bound.py walkbound  the walk-bound excursion rule (below) on 40 seeds of each stream, Z = 3 and 4

The walk-bound rule: after a learning period of 256 readings, the envelope [lo, hi] of the kept raw readings; the
mean of the last 31 readings leaving it opens an excursion (its raw readings kept apart, absorbed into the envelope
if the mean comes back); at its start, the history's walk scale s = max over q in {n/8, n/4, n/2} of
sqrt(mean((x[t] - x[t - q])^2) / q) (the variance ratio's numerator per reading: Lo and MacKinlay, Review of
Financial Studies 1988; an upper bound on a walk's step when white noise is added); the excursion alarms once its
mean is beyond the envelope's edge by more than the envelope's width and by more than Z s sqrt(m + 31), m its
readings (a walk's maximum over m steps exceeds Z s sqrt(m) with probability 2 (1 - Phi(Z)): the reflection principle).
"""
import sys
from collections import deque
import numpy as np


def bed(seed, slope=0.005, n=955, period=450):
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1)
    d = np.where(t >= 400, (t - 399) * slope, 0)
    return np.round(19 + 0.3 * np.sin(2 * np.pi * t / period) + 0.05 * rng.normal(size=n) + d, 2)


def walk(seed, n=3000):
    rng = np.random.default_rng(seed)
    return np.round(20 + np.cumsum(0.1 * rng.normal(size=n)), 2)


def weather(seed, n=3000, step=60):
    rng = np.random.default_rng(seed)
    a = np.exp(-1 / (6 * 3600 / step))
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = a * x[i - 1] + np.sqrt(1 - a * a) * 2 * rng.normal()
    return np.round(15 + x + 0.05 * rng.normal(size=n), 2)


def noisywalk(seed, n=5000):
    rng = np.random.default_rng(seed)
    return np.round(20 + np.cumsum(0.01 * rng.normal(size=n)) + 0.1 * rng.normal(size=n), 2)


STREAMS = {
    'bed': bed, 'beddown': lambda s: bed(s, slope=-0.005), 'walk': walk, 'weather10': lambda s: weather(s, step=10),
    'weather60': weather, 'weather300': lambda s: weather(s, step=300), 'noisywalk': noisywalk,
}


def spans(x, n=399):
    h = np.asarray(x[:n], float)
    def mean_range(L):
        return np.mean([h[i:i + L].max() - h[i:i + L].min() for i in range(0, n - L + 1, max(1, L // 4))])
    d2 = (np.diff(h) ** 2).mean()
    vr = lambda q: ((h[q:] - h[:-q]) ** 2).mean() / (q * d2)
    return mean_range(399) / mean_range(100), vr(200)


def walk_scale(h):
    n, best = len(h), 0.0
    for q in (n // 8, n // 4, n // 2):
        if q >= 1:
            d = h[q:] - h[:-q]
            best = max(best, (d * d).mean() / q)
    return np.sqrt(best)


def walk_bound(x, learn=256, z=3.0, span=31):
    lo = hi = None
    kept, ex, alarms, box, s = [], None, [], deque(maxlen=span), 0.0
    for i, v in enumerate(np.asarray(x, float)):
        box.append(v)
        if i < learn or len(box) < span:
            kept.append(v)
            lo, hi = (v, v) if lo is None else (min(lo, v), max(hi, v))
            continue
        mu = sum(box) / span
        if lo <= mu <= hi:
            if ex is not None:
                lo, hi = min(lo, min(ex)), max(hi, max(ex))
                kept.extend(ex)
                ex = None
            kept.append(v)
            continue
        if ex is None:
            ex, s = [], walk_scale(np.array(kept[-2048:]))
        ex.append(v)
        beyond = mu - hi if mu > hi else lo - mu
        if beyond > hi - lo and beyond > z * s * np.sqrt(len(ex) + span):
            alarms.append(i)
    return alarms


if __name__ == '__main__':
    what = sys.argv[1] if len(sys.argv) > 1 else 'spans'
    if what == 'spans':
        for name in ('bed', 'walk', 'weather10', 'weather60', 'noisywalk'):
            g, v = np.array([spans(STREAMS[name](s)) for s in range(20)]).T
            print(f'{name:10s} R(399)/R(100) median {np.median(g):.2f} ({g.min():.2f} … {g.max():.2f})   VR(200) median {np.median(v):.2f} ({v.min():.2f} … {v.max():.2f})')
    else:
        for z in (3.0, 4.0):
            for name, f in STREAMS.items():
                firsts = [a[0] for a in (walk_bound(f(s), z=z) for s in range(40)) if a]
                print(f'Z {z:.0f} {name:10s} alarmed {len(firsts):2d}/40' + (f', median first reading {int(np.median(firsts))}' if firsts else ''))
