/**
 * The dashboard served at GET /: one self-contained HTML page (inline CSS and JS, SVG plots, no external
 * URL: the device may be offline). It only reads the JSON API, polling every few seconds, and sets marks.
 * The script is plain ES2017 kept in a string; it builds the DOM with textContent only, never innerHTML,
 * so sensor names and notes cannot inject markup. Its CSP hash is computed here, so an edit cannot
 * silently break it.
 */
import { createHash } from 'node:crypto';

export const PAGE_REFRESH_MS = 5_000;

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b636e; --bg: #fff; --panel: #f4f6f8; --line: #d0d7de;
  --ok: #1a7f37; --anomalous: #c62828; --learning: #8250df; --stale: #7d6608; --accent: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9aa4af; --bg: #0d1117; --panel: #161b22; --line: #30363d;
  --ok: #3fb950; --anomalous: #ff6b6b; --learning: #b392f0; --stale: #d4a72c; --accent: #58a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; padding: .6rem 1rem; background: var(--panel); border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; }
#daemon { color: var(--muted); font-size: .9rem; }
#msg { flex-basis: 100%; color: var(--anomalous); min-height: 0; }
#msg:empty { display: none; }
main { display: grid; grid-template-columns: minmax(11rem, 16rem) 1fr; gap: 1rem; padding: 1rem; }
main > * { min-width: 0; }
@media (max-width: 700px) { main { grid-template-columns: 1fr; padding: .5rem; } }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
#sensors { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: .25rem; }
@media (max-width: 700px) { #sensors { flex-direction: row; flex-wrap: wrap; } }
#sensors button { width: 100%; display: flex; justify-content: space-between; gap: .5rem; padding: .4rem .6rem; font: inherit;
  color: inherit; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; cursor: pointer; text-align: left; }
#sensors button[aria-pressed="true"] { border-color: var(--accent); box-shadow: inset 3px 0 0 var(--accent); }
.badge { font-size: .75rem; padding: 0 .45rem; border-radius: 1rem; border: 1px solid currentColor; white-space: nowrap; }
.badge.ok { color: var(--ok); } .badge.anomalous { color: var(--anomalous); font-weight: 600; }
.badge.learning { color: var(--learning); } .badge.stale { color: var(--stale); }
.badge.open { color: var(--anomalous); } .badge.resolved { color: var(--muted); }
figure { margin: 0 0 .75rem; }
figcaption { color: var(--muted); font-size: .85rem; }
svg.chart { width: 100%; height: auto; display: block; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
svg text { fill: var(--muted); font-size: 11px; }
.axis { stroke: var(--line); }
.series { fill: none; stroke: var(--accent); stroke-width: 1.5; }
.threshold { fill: none; stroke: var(--anomalous); stroke-width: 1; stroke-dasharray: 5 3; }
.episode { fill: var(--anomalous); fill-opacity: .18; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.note { white-space: normal; color: var(--muted); }
td button { font: inherit; font-size: .8rem; margin-right: .25rem; padding: .15rem .5rem; cursor: pointer; }
.muted { color: var(--muted); }
`;

const SCRIPT = `
'use strict';
var REFRESH_MS = ${PAGE_REFRESH_MS};
// Taken from the page's own <svg> so the page text holds no URL at all.
var SVGNS = document.getElementById('score-chart').namespaceURI;
var TOKEN_KEY = 'anomalyd-token';
var state = { selected: null, sensors: [], token: sessionStorage.getItem(TOKEN_KEY) || '', tokenRefused: false, timer: 0 };

function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
function svgEl(tag, attrs) {
  var node = document.createElementNS(SVGNS, tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
  return node;
}
function fmtTime(ts) { return ts === null || ts === undefined ? '–' : new Date(ts).toLocaleString(); }
function fmtClock(ts) { return new Date(ts).toLocaleTimeString(); }
function fmtDuration(ms) {
  var s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}
function showMessage(text) { document.getElementById('msg').textContent = text || ''; }

async function api(path, init) {
  init = init || {};
  var headers = { Accept: 'application/json' };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  var res = await fetch(path, { method: init.method || 'GET', headers: headers, body: init.body });
  if (res.status === 401 && !state.tokenRefused) {
    var token = window.prompt('This anomalyd needs its API token (http.token):');
    if (token) { state.token = token.trim(); sessionStorage.setItem(TOKEN_KEY, state.token); return api(path, init); }
    state.tokenRefused = true;
  }
  var body = await res.json().catch(function () { return {}; });
  if (!res.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + res.status);
  return body;
}

function renderStatus(s) {
  var mqtt = s.mqtt.connected ? 'MQTT connected' : 'MQTT disconnected';
  var text = 'v' + s.version + ' · up since ' + fmtTime(s.startedAt) + ' · ' + mqtt + ' · model ' + (s.model || 'none') +
    ' · ' + (s.counters.windows || 0) + ' windows scored';
  document.getElementById('daemon').textContent = text;
}

function renderSensors(list) {
  state.sensors = list;
  if (state.selected === null && list.length > 0) {
    var firstAnomalous = list.filter(function (s) { return s.status === 'anomalous'; })[0];
    state.selected = (firstAnomalous || list[0]).sensor;
  }
  var ul = document.getElementById('sensors');
  ul.replaceChildren();
  if (list.length === 0) ul.appendChild(el('li', { class: 'muted' }, 'No sensors yet.'));
  list.forEach(function (s) {
    var button = el('button', { type: 'button', 'aria-pressed': String(s.sensor === state.selected), title: 'last window ' + fmtTime(s.lastTs) });
    button.appendChild(el('span', {}, s.sensor));
    button.appendChild(el('span', { class: 'badge ' + s.status }, s.status));
    button.addEventListener('click', function () { state.selected = s.sensor; refresh(); });
    var li = el('li');
    li.appendChild(button);
    ul.appendChild(li);
  });
}

/** Runs of consecutive anomalous windows, as [firstIndex, lastIndex] pairs. */
function episodes(flags) {
  var runs = [];
  var start = -1;
  for (var i = 0; i <= flags.length; i++) {
    if (i < flags.length && flags[i]) { if (start < 0) start = i; }
    else if (start >= 0) { runs.push([start, i - 1]); start = -1; }
  }
  return runs;
}

function plot(svg, h, opts) {
  // The drawing is laid out at the chart's real width, so labels keep their size on a phone.
  var W = Math.max(320, Math.round(svg.getBoundingClientRect().width) || 800), H = 190, L = 56, R = 10, T = 10, B = 24;
  svg.replaceChildren();
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  var n = h.endTs.length;
  if (n === 0) {
    var empty = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' });
    empty.textContent = 'no scored windows yet';
    svg.appendChild(empty);
    return;
  }
  var ys = opts.values;
  var t0 = h.endTs[0], t1 = Math.max(h.endTs[n - 1], t0 + 1);
  var lo = opts.min, hi = opts.max;
  var f = opts.log ? function (v) { return Math.log10(Math.max(v, 1e-12)); } : function (v) { return v; };
  var x = function (t) { return L + (t - t0) / (t1 - t0) * (W - L - R); };
  var y = function (v) { return T + (1 - (f(v) - f(lo)) / (f(hi) - f(lo) || 1)) * (H - T - B); };
  episodes(h.anomalous).forEach(function (run) {
    var xa = x(h.endTs[run[0]]), xb = x(h.endTs[run[1]]);
    svg.appendChild(svgEl('rect', { class: 'episode', x: xa - 1, y: T, width: Math.max(xb - xa, 0) + 2, height: H - T - B }));
  });
  svg.appendChild(svgEl('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.appendChild(svgEl('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  opts.ticks.forEach(function (v) {
    svg.appendChild(svgEl('line', { class: 'axis', x1: L - 4, y1: y(v), x2: L, y2: y(v) }));
    var label = svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' });
    label.textContent = opts.log ? v.toExponential(0) : String(v);
    svg.appendChild(label);
  });
  for (var k = 0; k <= 3; k++) {
    var t = t0 + (t1 - t0) * k / 3;
    var tl = svgEl('text', { x: x(t), y: H - 6, 'text-anchor': k === 0 ? 'start' : k === 3 ? 'end' : 'middle' });
    tl.textContent = fmtClock(t);
    svg.appendChild(tl);
  }
  var line = function (values, cls) {
    var pts = values.map(function (v, i) { return x(h.endTs[i]).toFixed(1) + ',' + y(Math.min(Math.max(v, lo), hi)).toFixed(1); });
    svg.appendChild(svgEl('polyline', { class: cls, points: pts.join(' ') }));
  };
  if (opts.threshold) line(h.threshold, 'threshold');
  line(ys, 'series');
}

function logRange(values) {
  var pos = values.filter(function (v) { return v > 0 && isFinite(v); });
  if (pos.length === 0) return { min: 1e-3, max: 1, ticks: [1e-3, 1e-2, 1e-1, 1] };
  var a = Math.floor(Math.log10(Math.min.apply(null, pos)));
  var b = Math.ceil(Math.log10(Math.max.apply(null, pos)));
  if (b === a) b = a + 1;
  var ticks = [];
  var step = Math.max(1, Math.ceil((b - a) / 4));
  for (var e = a; e <= b; e += step) ticks.push(Math.pow(10, e));
  return { min: Math.pow(10, a), max: Math.pow(10, b), ticks: ticks };
}

function renderHistory(h) {
  var n = h.endTs.length;
  var runs = episodes(h.anomalous).length;
  document.getElementById('sensor-title').textContent = h.sensor;
  var summary = n === 0 ? 'No scored windows yet.' :
    n + ' windows from ' + fmtTime(h.endTs[0]) + ' to ' + fmtTime(h.endTs[n - 1]) + '; latest score ' + h.score[n - 1].toFixed(3) +
    ', threshold ' + h.threshold[n - 1].toFixed(3) + '; ' + runs + ' anomalous stretch' + (runs === 1 ? '' : 'es') + ' shaded.';
  document.getElementById('score-caption').textContent = 'Score (0–1) with the threshold (dashed). ' + summary;
  var scoreSvg = document.getElementById('score-chart');
  scoreSvg.setAttribute('aria-label', 'Score of ' + h.sensor + '. ' + summary);
  plot(scoreSvg, h, { values: h.score, min: 0, max: 1, ticks: [0, 0.5, 1], threshold: true });
  var r = logRange(h.surprise);
  var errSvg = document.getElementById('error-chart');
  errSvg.setAttribute('aria-label', 'Surprise of ' + h.sensor + ', log scale' + (n > 0 ? ', latest ' + h.surprise[n - 1].toExponential(2) : ''));
  plot(errSvg, h, { values: h.surprise, min: r.min, max: r.max, ticks: r.ticks, log: true, threshold: false });
}

async function mark(id, action) {
  try {
    await api('/api/anomalies/' + encodeURIComponent(id) + '/' + action, { method: 'POST', body: '{}' });
    await refresh();
  } catch (err) {
    showMessage('Could not mark ' + id + ': ' + err.message);
  }
}

function renderAnomalies(list) {
  var tbody = document.getElementById('anomalies');
  tbody.replaceChildren();
  if (list.length === 0) {
    var row = el('tr');
    row.appendChild(el('td', { colspan: '7', class: 'muted' }, 'No anomalies recorded.'));
    tbody.appendChild(row);
  }
  list.forEach(function (a) {
    var tr = el('tr');
    tr.appendChild(el('td', {}, fmtTime(a.startTs)));
    tr.appendChild(el('td', {}, a.sensor));
    tr.appendChild(el('td', {}, fmtDuration(a.endTs - a.startTs)));
    tr.appendChild(el('td', {}, a.peakScore.toFixed(3)));
    var status = el('td');
    status.appendChild(el('span', { class: 'badge ' + a.status }, a.status));
    tr.appendChild(status);
    tr.appendChild(el('td', { class: 'note' }, (a.mark ? a.mark.replace('_', ' ') : '–') + (a.markNote ? ': ' + a.markNote : '')));
    var actions = el('td');
    [['ack', 'Ack'], ['false_alarm', 'False alarm'], ['unmark', 'Unmark']].forEach(function (pair) {
      if (pair[0] === 'unmark' ? a.mark === null : a.mark === pair[0]) return;
      var b = el('button', { type: 'button', 'aria-label': pair[1] + ' anomaly on ' + a.sensor + ' at ' + fmtTime(a.startTs) }, pair[1]);
      b.addEventListener('click', function () { mark(a.id, pair[0]); });
      actions.appendChild(b);
    });
    tr.appendChild(actions);
    tbody.appendChild(tr);
  });
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    var results = await Promise.all([api('/api/status'), api('/api/sensors'), api('/api/anomalies?limit=20')]);
    renderStatus(results[0]);
    renderSensors(results[1].sensors);
    renderAnomalies(results[2].anomalies);
    document.getElementById('detail').hidden = state.selected === null;
    if (state.selected !== null) renderHistory(await api('/api/sensors/' + encodeURIComponent(state.selected) + '/history'));
    showMessage('');
  } catch (err) {
    showMessage('Update failed: ' + err.message);
  }
  state.timer = setTimeout(function () { if (!document.hidden) refresh(); else state.timer = setTimeout(refresh, REFRESH_MS); }, REFRESH_MS);
}

document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
refresh();
`;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>anomalyd</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>anomalyd</h1>
  <span id="daemon">loading…</span>
  <p id="msg" role="alert"></p>
</header>
<main>
  <nav aria-labelledby="sensors-title">
    <h2 id="sensors-title">Sensors</h2>
    <ul id="sensors"></ul>
  </nav>
  <div>
    <section id="detail" aria-labelledby="sensor-title" hidden>
      <h2 id="sensor-title"></h2>
      <figure>
        <svg id="score-chart" class="chart" role="img" aria-label="score"></svg>
        <figcaption id="score-caption"></figcaption>
      </figure>
      <figure>
        <svg id="error-chart" class="chart" role="img" aria-label="reconstruction error"></svg>
        <figcaption>Reconstruction error (log scale, normalised units).</figcaption>
      </figure>
    </section>
    <section aria-labelledby="anomalies-title">
      <h2 id="anomalies-title">Recent anomalies</h2>
      <div class="table-wrap">
        <table>
          <thead><tr><th scope="col">Start</th><th scope="col">Sensor</th><th scope="col">Duration</th><th scope="col">Peak</th><th scope="col">Status</th><th scope="col">Mark</th><th scope="col">Actions</th></tr></thead>
          <tbody id="anomalies"></tbody>
        </table>
      </div>
    </section>
  </div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** Only this page's own script and style run; it may talk to this server and nothing else. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(SCRIPT)}`,
  `style-src ${cspHash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
