import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer } from '../../src/adapters/http.js';
import { PAGE_HTML } from '../../src/http/page.js';
import { captureLogs, FakeView, request } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const servers: HttpServer[] = [];

async function serve(view = new FakeView()): Promise<string> {
  const server = new HttpServer({ host: '127.0.0.1', port: 0, logger: captureLogs().logger, view });
  servers.push(server);
  await server.start();
  return server.url!;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function between(text: string, open: string, close: string): string {
  const start = text.indexOf(open);
  const end = text.indexOf(close, start);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return text.slice(start + open.length, end);
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

describe('GET /', () => {
  it('serves the page as HTML with a restrictive CSP', async () => {
    const res = await request(await serve(), '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toBe(PAGE_HTML);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('the CSP hashes are those of the inline script and style, so the browser runs them', async () => {
    const res = await request(await serve(), '/');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(`'sha256-${sha256(between(res.text, '<script>', '</script>'))}'`);
    expect(csp).toContain(`'sha256-${sha256(between(res.text, '<style>', '</style>'))}'`);
    expect(res.text.match(/<script/g)).toHaveLength(1);
  });

  it('references no external URL (the device may be offline)', () => {
    expect(PAGE_HTML).not.toMatch(/https?:\/\//i);
    expect(PAGE_HTML).not.toMatch(/(src|href)\s*=\s*["']?\/\//i);
    expect(PAGE_HTML).not.toMatch(/@import|url\(/i);
    // Every href or src points into the page itself: a data: URI or a same-server path.
    for (const m of PAGE_HTML.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/gi)) expect(m[1]).toMatch(/^(data:|\/(?!\/))/);
  });

  it('only reads the API through routes that exist', () => {
    const paths = [...PAGE_HTML.matchAll(/'(\/api\/[a-z/]*)/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(p).toMatch(/^\/api\/(status|sensors|anomalies)(\/|$)/);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('the page in headless Chromium', () => {
  it('renders the sensors, the plots of the selected sensor and the anomalies table from the API', async () => {
    const view = new FakeView();
    view.histories.get('pump1')!.anomalous[1] = true;
    const base = await serve(view);
    const profile = mkdtempSync(join(tmpdir(), 'anomalyd-chromium-'));
    try {
      const dom = await new Promise<string>((resolve, reject) => {
        execFile(
          CHROMIUM,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            `--user-data-dir=${profile}`,
            '--virtual-time-budget=3000',
            '--dump-dom',
            `${base}/`,
          ],
          { timeout: 45_000, maxBuffer: 8 * 1024 * 1024 },
          (err: Error | null, stdout: string) => (err !== null ? reject(err) : resolve(stdout)),
        );
      });
      // The script ran (CSP allowed it) and the API answered: the placeholder is replaced by the status line.
      expect(dom).not.toContain('loading…');
      expect(dom).toContain('v9.9.9');
      const sensorList = between(dom, '<ul id="sensors">', '</ul>');
      for (const s of view.sensorViews) expect(sensorList).toContain(s.sensor);
      expect(sensorList).toMatch(/aria-pressed="true"[^>]*><span>pump1<\/span>/);
      expect(sensorList).toContain('class="badge anomalous"');
      const scoreChart = between(dom, '<svg id="score-chart"', '</svg>');
      expect(scoreChart.match(/<polyline/g)).toHaveLength(2); // the score and the threshold
      expect(scoreChart.match(/class="episode"/g)).toHaveLength(1);
      expect(between(dom, '<svg id="error-chart"', '</svg>')).toContain('<polyline');
      const table = between(dom, '<tbody id="anomalies">', '</tbody>');
      expect(table.match(/<tr>/g)).toHaveLength(view.records.length);
      expect(table).toContain('False alarm');
      expect(between(dom, '<p id="msg"', '</p>')).toBe(' role="alert">');
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
