"""A room sensor with a day's cycle and a lasting step (or a drift), as a CSV for `anomalyd replay`; prints its episodes.

The tryout on slow sensors (issue 10): 21 + 3 sin(2π t / day) + N(0, 0.05) °C, quantised to 0.1 °C, read every
INTERVAL seconds; DAYS of normal history, then +STEP °C (and +DRIFT °C an hour) for good, HOURS more.

  python3 scripts/slow-step.py gen INTERVAL DAYS STEP HOURS SEED [DRIFT] > F.csv
  python3 scripts/slow-step.py episodes OUT.csv        (an `anomalyd replay --output` CSV: each run of anomaly = 1)
"""
import csv, math, random, sys

if sys.argv[1] == 'gen':
    iv, days, step, hours, seed = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    drift = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    random.seed(seed)
    n0, n1 = int(days * 86400 / iv), int(hours * 3600 / iv)
    print('timestamp,value')
    for k in range(n0 + n1):
        t = k * iv
        v = 21 + 3 * math.sin(2 * math.pi * t / 86400) + random.gauss(0, 0.05)
        if k >= n0:
            v += step + drift * (k - n0) * iv / 3600
        print(f'{1764547200 + int(t)},{round(v * 10) / 10:.1f}')
else:
    rows = list(csv.DictReader(open(sys.argv[2])))
    prev, start, out = 0, 0, []
    for i, r in enumerate(rows):
        a = int(r['anomaly'])
        if a and not prev:
            start = i
        if prev and not a:
            out.append(f'{start}..{i - 1} ({i - start})')
        prev = a
    if prev:
        out.append(f'{start}..open at the end ({len(rows) - start})')
    print(f"rows {len(rows)}; episodes: {', '.join(out) if out else 'none'}")
