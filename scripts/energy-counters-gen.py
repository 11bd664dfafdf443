#!/usr/bin/env python3
"""Energy counters as smart plugs / meters publish them: cumulative energy, rounded to the device's resolution.
usage: python3 scripts/energy-counters-gen.py OUTDIR  -> OUTDIR/<device>-<interval>s-s<seed>.csv (timestamp ms, value)
Devices (power model in W, integrated exactly, then rounded as the device prints it):
  fridge  Tasmota ENERGY.Total, kWh, 3 decimals: compressor ~15 min on at 85 W (a 10 s start at 300 W), ~35 min off at 1.5 W
  house   Tasmota SML ENERGY.Total, kWh, 3 decimals: base 180-450 W by hour, kettle/oven/washer events
  lamp    Shelly aenergy.total, Wh, 3 decimals: 0 W (off) but 9 W on evenings 18-23 h
  desk    zigbee2mqtt energy, kWh, 2 decimals: 4 W at night, 60-120 W on a working day 9-18 h
"""
import math, random, sys, os

DAYS = 4
T0 = 1795737600000  # 2026-11-27T00:00:00Z (a Friday)

def power_fn(dev, rng):
    if dev == 'fridge':
        state = {'on': False, 'left': rng.uniform(0, 2100), 'since': 0.0}
        def p(t, dt):
            state['left'] -= dt
            state['since'] += dt
            if state['left'] <= 0:
                state['on'] = not state['on']
                state['left'] = max(300, rng.gauss(900, 180)) if state['on'] else max(600, rng.gauss(2100, 300))
                state['since'] = 0.0
            if state['on']:
                return 300.0 if state['since'] < 10 else 85 + rng.gauss(0, 3)
            return 1.5 + rng.gauss(0, 0.1)
        return p
    if dev == 'house':
        events = []  # (start s, duration s, watts, cycling)
        for d in range(DAYS):
            base = d * 86400
            for _ in range(rng.randint(3, 6)):  # kettle
                events.append((base + rng.uniform(6.5, 22) * 3600, rng.uniform(120, 240), 2000, False))
            events.append((base + rng.uniform(17.5, 19) * 3600, rng.uniform(1800, 3600), 2400, True))  # oven
            if rng.random() < 0.6:
                events.append((base + rng.uniform(8, 20) * 3600, 7200, 600, True))  # washer
        def p(t, dt):
            h = (t / 3600) % 24
            w = 180 + 120 * math.exp(-((h - 7.5) ** 2) / 2) + 270 * math.exp(-((h - 20) ** 2) / 4) + rng.gauss(0, 15)
            for s, dur, watts, cyc in events:
                if s <= t < s + dur:
                    w += watts if not cyc or (int((t - s) / 300) % 3 != 2) else 50
            return max(w, 50)
        return p
    if dev == 'lamp':
        on = {}
        def p(t, dt):
            d = int(t // 86400)
            if d not in on:
                on[d] = (rng.uniform(17.5, 19) * 3600, rng.uniform(22, 23.8) * 3600)
            s = t - d * 86400
            return 9.0 + rng.gauss(0, 0.05) if on[d][0] <= s < on[d][1] else 0.0
        return p
    if dev == 'desk':
        def p(t, dt):
            day = (int(t // 86400) + 4) % 7  # T0 is a Friday: 4 -> Fri, 5 Sat, 6 Sun
            h = (t / 3600) % 24
            if day < 5 and 9 <= h < 18:
                return 90 + 30 * math.sin(t / 1700) + rng.gauss(0, 5)
            return 4 + rng.gauss(0, 0.2)
        return p
    raise ValueError(dev)

SPEC = {'fridge': (1 / 3.6e6, 3, 123.456), 'house': (1 / 3.6e6, 3, 45678.123), 'lamp': (1 / 3600, 3, 5123.789), 'desk': (1 / 3.6e6, 2, 87.65)}

def main(out):
    os.makedirs(out, exist_ok=True)
    for dev in SPEC:
        unit, dec, start = SPEC[dev]
        for every in (10, 60):
            for seed in (1, 2, 3):
                rng = random.Random(f'{dev}-{every}-{seed}')
                p = power_fn(dev, rng)
                e = start
                rows = []
                t, sub = 0.0, 1.0  # integrate at 1 s
                n = DAYS * 86400 // every
                for k in range(n):
                    for _ in range(every):
                        e += p(t, sub) * sub * unit
                        t += sub
                    ts = T0 + k * every * 1000 + int(rng.uniform(-150, 150))
                    rows.append(f'{ts},{round(e, dec):.{dec}f}')
                with open(os.path.join(out, f'{dev}-{every}s-s{seed}.csv'), 'w') as f:
                    f.write('timestamp,value\n' + '\n'.join(rows) + '\n')

main(sys.argv[1])
