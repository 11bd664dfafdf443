/**
 * The dashboard's static files: the page, its stylesheet and script (src/http/page.ts), and uPlot's script
 * and stylesheet read from this package's node_modules (so nothing comes from a CDN). Each asset is
 * named by a hash of its content, so browsers may cache it for good, and kept gzipped beside the plain
 * bytes: on a Pi over the LAN the page is ≈ 30 kB on the wire. Built once, on first use.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from '../http/page.js';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

export interface Assets {
  /** GET /: the page (revalidated on every load: it names the current assets). */
  readonly page: Asset;
  /** By file name under /assets/. */
  readonly files: ReadonlyMap<string, Asset>;
  /** The page's Content-Security-Policy: scripts, styles and requests from this server only. */
  readonly csp: string;
}

let built: Assets | null = null;

/** Builds (once) and returns the dashboard's files. Throws when uPlot is not installed. */
export function dashboardAssets(): Assets {
  built ??= build();
  return built;
}

function asset(type: string, text: string | Buffer): Asset {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${hash}"` };
}

function build(): Assets {
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'));
  const files = new Map<string, Asset>();
  const add = (stem: string, ext: 'js' | 'css', content: string | Buffer): string => {
    const a = asset(ext === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', content);
    const name = `${stem}.${a.etag.slice(1, 9)}.${ext}`;
    files.set(name, a);
    return `/assets/${name}`;
  };
  const css = [add('uplot', 'css', uplotCss), add('dashboard', 'css', PAGE_STYLE)];
  const js = [add('uplot', 'js', uplotJs), add('dashboard', 'js', PAGE_SCRIPT)];
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { page: asset('text/html; charset=utf-8', pageHtml({ css, js })), files, csp };
}
