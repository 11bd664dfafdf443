"""Episodes in an `anomalyd replay --output` CSV: rising edges of its anomaly column. usage: python3 scripts/episodes-of-replay.py OUT.csv LABEL"""
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
eps, prev, arows, first = 0, '0', 0, []
for r in rows:
    if r['anomaly'] == '1':
        arows += 1
        if prev != '1':
            eps += 1
            if len(first) < 6: first.append(r['timestamp'])
    prev = r['anomaly']
print(f"{sys.argv[2]} episodes {eps} alarmed_rows {arows} rows {len(rows)} first_onsets {';'.join(first)}")
