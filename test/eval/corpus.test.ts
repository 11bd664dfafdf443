import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ANOMALY_KINDS, corpusLabelFiles, devCorpus, labelsOf, nabTime, seriesCsv, windowsOf, type DevSeries } from '../../src/eval/corpus.js';
import { corpusSources, devSources } from '../../src/eval/datasets.js';
import { nabProbation } from '../../src/eval/nab.js';

const corpus = devCorpus(1);
const clean = devCorpus(1, { anomalies: false });

describe('the development corpus', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const again = devCorpus(1);
    expect(again.map((s) => s.path)).toEqual(corpus.map((s) => s.path));
    for (let k = 0; k < corpus.length; k++) {
      expect(again[k].values).toEqual(corpus[k].values);
      expect(again[k].timestamps).toEqual(corpus[k].timestamps);
      expect(again[k].anomalies).toEqual(corpus[k].anomalies);
    }
    const other = devCorpus(2);
    expect(other.map((s) => s.path)).toEqual(corpus.map((s) => s.path));
    expect(other.some((s, k) => s.values.length !== corpus[k].values.length || s.values[100] !== corpus[k].values[100])).toBe(true);
  });

  it('covers every anomaly kind and the sampling intervals and lengths it promises, with NAB’s probation', () => {
    const kinds = new Set(corpus.flatMap((s) => s.anomalies.map((a) => a.kind)));
    expect([...kinds].sort()).toEqual([...ANOMALY_KINDS].sort());
    const intervals = corpus.map((s) => s.intervalMs);
    expect(Math.min(...intervals)).toBe(5000);
    expect(Math.max(...intervals)).toBe(3_600_000);
    expect(corpus.some((s) => s.anomalies.length === 0)).toBe(true);
    for (const s of corpus) {
      expect(s.values.length, s.path).toBeGreaterThanOrEqual(1000 * 0.9); // up to 5 % of the steps go missing
      expect(s.values.length, s.path).toBeLessThanOrEqual(22000);
      expect(s.probation).toBe(nabProbation(s.values.length));
      expect(s.probation).toBeLessThanOrEqual(750);
      let minGap = Infinity;
      for (let i = 1; i < s.timestamps.length; i++) minGap = Math.min(minGap, s.timestamps[i] - s.timestamps[i - 1]);
      expect(minGap, s.path).toBe(s.intervalMs);
      expect(s.values.every(Number.isFinite), s.path).toBe(true);
    }
  });

  it('every labelled anomaly gets its own window, after the probation', () => {
    for (const s of corpus) {
      const windows = windowsOf(s);
      expect(windows.length, s.path).toBe(s.anomalies.length);
      for (const [k, w] of windows.entries()) {
        expect(w.start).toBeGreaterThanOrEqual(s.probation);
        expect(w.start).toBeLessThanOrEqual(s.anomalies[k].start);
        expect(w.end).toBeGreaterThanOrEqual(s.anomalies[k].end);
      }
    }
  });

  it('labels are where the anomalies are: the series differs from its anomaly-free twin inside the labelled runs only', () => {
    const persistent = (s: DevSeries, i: number): boolean =>
      s.anomalies.some((a) => i >= a.start && (a.kind === 'drift' || a.kind === 'frequency' || s.base === 'counter'));
    for (let k = 0; k < corpus.length; k++) {
      const s = corpus[k];
      const c = clean[k];
      expect(c.timestamps).toEqual(s.timestamps);
      expect(c.anomalies).toEqual(s.anomalies);
      const labels = labelsOf(s);
      for (let i = 0; i < s.values.length; i++) {
        if (s.values[i] !== c.values[i]) expect(labels[i] === 1 || persistent(s, i), `${s.path} row ${i} changed outside a label`).toBe(true);
      }
      for (const a of s.anomalies) {
        if (a.kind === 'missing') {
          // The labelled reading is the first after a long outage.
          expect(s.timestamps[a.start] - s.timestamps[a.start - 1]).toBeGreaterThanOrEqual(20 * s.intervalMs);
          continue;
        }
        let changed = 0;
        for (let i = a.start; i <= a.end; i++) changed += s.values[i] !== c.values[i] ? 1 : 0;
        expect(changed, `${s.path} ${a.kind} at ${a.start}`).toBeGreaterThan(0);
        if (a.kind === 'sentinel') for (let i = a.start; i <= a.end; i++) expect([85, -127, 0, 65535, 4294967295]).toContain(s.values[i]);
        if (a.kind === 'flatline') for (let i = a.start; i <= a.end; i++) expect(s.values[i]).toBe(s.values[a.start - 1]);
        if (a.kind === 'spike' || a.kind === 'dip') {
          const dir = a.kind === 'spike' ? 1 : -1;
          for (let i = a.start; i <= a.end; i++) expect(dir * (s.values[i] - c.values[i])).toBeGreaterThan(0);
        }
      }
    }
  });

  it('writes NAB’s layout: timestamp,value files and label files whose times are rows of the files', () => {
    const s = corpus[0];
    const lines = seriesCsv(s).trim().split('\n');
    expect(lines[0]).toBe('timestamp,value');
    expect(lines.length - 1).toBe(s.values.length);
    expect(lines[1]).toBe(`${nabTime(s.timestamps[0])},${Math.round(s.values[0] * 1e6) / 1e6}`);
    const files = corpusLabelFiles(corpus);
    expect(Object.keys(files.combinedWindows).sort()).toEqual(corpus.map((x) => x.path).sort());
    const times = new Set(lines.slice(1).map((l) => `${l.split(',')[0]}.000000`));
    for (const [start, end] of files.combinedWindows[s.path]) {
      expect(times.has(start)).toBe(true);
      expect(times.has(end)).toBe(true);
    }
    expect(files.combinedLabels[s.path]).toEqual(s.anomalies.map((a) => `${nabTime(s.timestamps[a.start])}.000000`));
  });
});

describe('the corpus as evaluation streams', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anomalyd-corpus-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('written to disk and read back in NAB’s layout, gives the same streams as in memory', async () => {
    const picked = corpus.filter((_, k) => k % 7 === 0);
    for (const s of picked) {
      const path = join(dir, 'data', s.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, seriesCsv(s));
    }
    const labels = corpusLabelFiles(picked);
    mkdirSync(join(dir, 'labels'));
    writeFileSync(join(dir, 'labels', 'combined_windows.json'), JSON.stringify(labels.combinedWindows));
    writeFileSync(join(dir, 'labels', 'anomaly_runs.json'), JSON.stringify(labels.anomalyRuns));
    const fromDisk = corpusSources(dir);
    const inMemory = devSources(1).filter((src) => picked.some((s) => s.path === src.file));
    expect(fromDisk.map((x) => x.file).sort()).toEqual(inMemory.map((x) => x.file).sort());
    for (const src of inMemory) {
      const a = await src.load();
      const b = await fromDisk.find((x) => x.file === src.file)!.load();
      expect(b.rows.length).toBe(a.rows.length);
      expect(b.rows.map((r) => r.ts)).toEqual(a.rows.map((r) => r.ts));
      expect(b.rows[5].values[0]).toBeCloseTo(a.rows[5].values[0], 6);
      expect(b.labels).toEqual(a.labels);
      expect(b.windows).toEqual(a.windows);
      expect([b.learnRows, b.scoreFrom]).toEqual([a.learnRows, a.scoreFrom]);
      expect(a.learnRows).toBe(nabProbation(a.rows.length));
    }
  });

  it('a directory without NAB’s label file is refused with a clear error', () => {
    expect(() => corpusSources(join(dir, 'data'))).toThrow(/no labels\/combined_windows\.json/);
  });
});
