# A family of cyclic series with a lasting level shift through `anomalyd replay` (shipped config and model, no
# --learn-first), counting episodes resolved before alerts.newNormalAfter while the shift goes on (BENCHMARKS.md,
# "A lasting level shift on a cyclic sensor"): 60 + A sin(2 pi k / P) + N(0, sd), + k_sigma * sd from the onset at
# phase ph of the cycle ('early': the first such onset after row 2500, 'late': after row 4200), rows 1 s or 60 s apart
# (alternating), 1,300 rows after the onset. One JSON line per case to stdout, all of them to OUT.json; files in /tmp/cyc.
#   python3 scripts/cyclic-shift-family.py ROOT OUT.json
import json, subprocess, sys, os, numpy as np
os.makedirs('/tmp/cyc', exist_ok=True)
root, out = sys.argv[1], sys.argv[2]
cases = []
for P in [300, 600, 1000, 2000]:
  for (A, sd, ksig) in [(5, 0.3, 40)] + ([(5, 0.3, 10)] if P == 600 else []):
      for ph in [0, 0.25, 0.5, 0.75]:
        for start in ['early'] + (['late'] if P == 600 and ksig == 40 else []):
          cases.append((P, A, sd, ksig, ph, start))
def one(i):
  (P, A, sd, ksig, ph, start) = cases[i]
  seed = i % 3 + 1
  rng = np.random.default_rng(seed)
  base = 2500 if start == 'early' else 4200
  onset = int(base + ((ph * P - base) % P))  # onset at phase ph of the cycle
  n = onset + 1300
  k = np.arange(n)
  x = 60 + A * np.sin(2 * np.pi * k / P) + rng.normal(0, sd, n)
  x[onset:] += ksig * sd
  dt = 1 if i % 2 == 0 else 60
  f = f'/tmp/cyc/f{i}.csv'
  with open(f, 'w') as fh:
    fh.write('ts,value\n')
    for j in range(n): fh.write(f'{1796100000 + j*dt},{x[j]:.3f}\n')
  o = out + f'.{i}.out.csv'
  subprocess.run(['node', f'{root}/dist/main.js', 'replay', '--input', f, '--output', o], check=True, stderr=subprocess.DEVNULL)
  a = [int(l.split(',')[4]) for l in open(o).read().strip().split('\n')[1:]]
  # episodes
  eps = []; s = None
  for j, v in enumerate(a):
    if v and s is None: s = j
    if not v and s is not None: eps.append((s, j)); s = None
  if s is not None: eps.append((s, None))
  pre = [e for e in eps if e[0] < onset]
  post = [e for e in eps if e[0] >= onset]
  first = post[0] if post else None
  caught = first is not None and first[0] < onset + 100
  early = caught and first[1] is not None and first[1] < first[0] + 990
  r = dict(P=P, A=A, sd=sd, k=ksig, ph=ph, start=start, dt=dt, seed=seed, onset=onset, pre=len(pre), eps=[(s_-onset, None if e_ is None else e_-onset) for s_, e_ in post], caught=caught, early=early)
  print(json.dumps(r), flush=True); return r
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(2) as ex: res = list(ex.map(one, range(len(cases))))
json.dump(res, open(out, 'w'))
