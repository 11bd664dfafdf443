/**
 * The dashboard served at GET /: a small HTML page, its stylesheet and its script, plus uPlot (a small,
 * maintained time-series chart library, MIT) served from this package's own node_modules, so the page
 * needs nothing from the internet. The script only reads the JSON API (polling every few seconds while
 * the tab is visible) and sets marks. It is plain ES2017 kept in a string (no build step); it builds the
 * DOM with textContent only, never innerHTML, so sensor names and notes cannot inject markup.
 *
 * What it shows for the selected sensor: its readings with the expected band (the model's expectation ±
 * 2 spreads, or, where the model gives none, the baseline of the preceding normal readings, said so; the
 * model's expectation of each reading, so during a lasting fault it follows the fault, and the caption says
 * that what an episode is told against is its explanation's, the level before it: docs/ALERTS.md),
 * min–max envelopes where points merge several readings, anomalous stretches shaded; below, the surprise
 * −log10(1 − score) with the threshold dashed; a range picker (1 h, 24 h, 7 d, from the server's series
 * store); and the episodes with their explanation and ack / false-alarm buttons. The sensor list is most urgent
 * first (an open episode of any kind, a silence's `missing data` too while the sensor is `stale`; then anomalous,
 * stale, learning, ok; by name case-insensitively within each), a device's streams together under its name (with how
 * many have an open episode), with a filter box; the header names the devices
 * with an open episode, one entry each naming its streams with one, each a link (`plug-washer: ENERGY.Power,
 * ENERGY.Current`; a device's silence `wx0 silent: humidity, pressure`); until the operator picks a sensor the page shows the most urgent; on a
 * narrow screen the selected sensor's plots come before the list (tryout 13, finding 7). Every time is shown in
 * the daemon's zone for its sentences (/api/status timeZone: explain.timeZone), labelled. `body[data-state]` says
 * whether the data is there (`ready`), there is none yet (`empty`), or the API failed (`error`), so a
 * screenshot can wait for it.
 */

import { formatDuration } from '../util/duration.js';
import { formatReading } from '../util/reading.js';
import { KIND_LABELS } from '../explain/explain.js';

export const PAGE_REFRESH_MS = 5_000;
/**
 * A mark note's words up to this many characters are never broken on the dashboard (the Mark column is at least as
 * wide as its longest); a longer token (a URL, a zigbee2mqtt name) may break anywhere.
 */
export const NOTE_WORD_CHARS = 24;

export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b636e; --bg: #fff; --panel: #f4f6f8; --line: #d0d7de;
  --ok: #1a7f37; --anomalous: #c62828; --learning: #8250df; --stale: #7d6608; --accent: #0969da;
  --band: rgba(9, 105, 218, .16); --baseline: rgba(125, 102, 8, .24); --envelope: rgba(9, 105, 218, .10); --shade: rgba(198, 40, 40, .16); }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9aa4af; --bg: #0d1117; --panel: #161b22; --line: #30363d;
  --ok: #3fb950; --anomalous: #ff6b6b; --learning: #b392f0; --stale: #d4a72c; --accent: #58a6ff;
  --band: rgba(88, 166, 255, .20); --baseline: rgba(212, 167, 44, .20); --envelope: rgba(88, 166, 255, .12); --shade: rgba(255, 107, 107, .20); } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; padding: .6rem 1rem; background: var(--panel); border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.1rem; margin: 0; }
#daemon { color: var(--muted); font-size: .9rem; }
#msg { flex-basis: 100%; margin: 0; color: var(--anomalous); }
#msg:empty { display: none; }
#problems { flex-basis: 100%; margin: 0; font-size: .9rem; }
#clash { flex-basis: 100%; margin: 0; font-size: .9rem; color: var(--anomalous); font-weight: 600; overflow-wrap: anywhere; }
#problems button { font: inherit; color: var(--anomalous); background: none; border: 0; padding: 0; text-decoration: underline; cursor: pointer; overflow-wrap: anywhere; text-align: left; }
#problems .none { color: var(--ok); }
#problems .problem { display: inline-block; max-width: 100%; }
/* Desktop: the sensor list on the left, the selected sensor's plots and the episodes on the right. On a phone the
   selected sensor's plots come first, then the list (scrolling in its own box), then the episodes: with 90 streams
   the plots began 6,641 px down (tryout 13, finding 7). */
main { display: grid; grid-template-columns: minmax(11rem, 16rem) 1fr; grid-template-rows: auto 1fr; grid-template-areas: "nav detail" "nav episodes"; gap: 1rem; padding: 1rem; }
main > * { min-width: 0; }
#sensor-nav { grid-area: nav; }
#detail { grid-area: detail; }
#episodes-section { grid-area: episodes; align-self: start; }
@media (max-width: 700px) {
  main { grid-template-columns: 1fr; grid-template-rows: none; grid-template-areas: "detail" "nav" "episodes"; padding: .5rem; }
  #sensors { max-height: 40vh; overflow-y: auto; }
}
#sensor-filter { width: 100%; font: inherit; padding: .3rem .5rem; margin: 0 0 .4rem; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
#sensor-count { margin: 0 0 .4rem; font-size: .85rem; }
#sensor-count:empty { display: none; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
#sensors { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: .25rem; }
@media (max-width: 700px) { #sensors { flex-direction: row; flex-wrap: wrap; } }
#sensors button { width: 100%; display: grid; grid-template-columns: 1fr auto; gap: 0 .5rem; padding: .4rem .6rem; font: inherit;
  color: inherit; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; cursor: pointer; text-align: left; }
#sensors button[aria-pressed="true"] { border-color: var(--accent); box-shadow: inset 3px 0 0 var(--accent); }
#sensors .value { grid-column: 1 / 3; color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
/* Stream names can be long and have no space (a zigbee2mqtt friendly name and its field, 90 characters): they
   wrap anywhere instead of widening the page (their end, often the field, is what tells two apart, so it is not
   cut off), and every place that shows one has the whole name in its title. */
#sensors li { min-width: 0; max-width: 100%; }
#sensors button { grid-template-columns: minmax(0, 1fr) auto; }
#sensors .name, #sensor-title, #anomalies-title, #episodes-scope, .explanation, figcaption, td.sensor, td.what { overflow-wrap: anywhere; }
#sensors .name, #sensor-title, #anomalies-title { min-width: 0; }
td.sensor button { text-align: left; overflow-wrap: anywhere; }
/* A device with several streams (a Tasmota plug's ENERGY fields, a zigbee2mqtt sensor's temperature and humidity):
   one item, its name and how many of its streams have an open episode, its streams indented under it, each by its
   field (tryout 13, finding 8). */
#sensors li.device { flex-basis: 100%; }
#sensors details > summary { cursor: pointer; padding: .25rem .2rem; display: flex; flex-wrap: wrap; gap: 0 .5rem; align-items: baseline; }
#sensors details > summary::before { content: "▸"; color: var(--muted); }
#sensors details[open] > summary::before { content: "▾"; }
#sensors .device-name { font-weight: 600; overflow-wrap: anywhere; min-width: 0; }
#sensors .device-count { color: var(--muted); font-size: .85rem; }
#sensors .device-count.open { color: var(--anomalous); font-weight: 600; }
#sensors ul.streams { list-style: none; margin: 0 0 .2rem .7rem; padding: 0; display: flex; flex-direction: column; gap: .25rem; }
.badge { font-size: .75rem; padding: 0 .45rem; border-radius: 1rem; border: 1px solid currentColor; white-space: nowrap; align-self: center; }
.badge.ok { color: var(--ok); } .badge.anomalous { color: var(--anomalous); font-weight: 600; }
.badge.learning { color: var(--learning); } .badge.stale { color: var(--stale); }
.badge.open { color: var(--anomalous); } .badge.resolved { color: var(--muted); }
.toolbar { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; }
.ranges { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.ranges button { font: inherit; font-size: .85rem; padding: .2rem .7rem; border: 0; background: var(--panel); color: inherit; cursor: pointer; }
.ranges button + button { border-left: 1px solid var(--line); }
.ranges button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.explanation { margin: .25rem 0 .75rem; padding: .5rem .75rem; border-left: 4px solid var(--anomalous); background: var(--panel); }
.explanation:empty { display: none; }
figure { margin: 0 0 .75rem; }
figcaption { color: var(--muted); font-size: .85rem; }
.chart { width: 100%; min-height: 120px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.chart .none { padding: 2.5rem 1rem; text-align: center; color: var(--muted); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.nowrap { white-space: nowrap; }
/* The start (date, time, duration) and the mark buttons wrap too, so the table fits beside the sensor list
   at a laptop's width instead of scrolling sideways. */
td.when { min-width: 7.5rem; }
td.actions { min-width: 6.5rem; }
td.actions button { white-space: nowrap; }
td.sensor { min-width: 9rem; }
td.what { min-width: 16rem; }
/* A mark's note wraps at its words only, in a column at least 18 characters wide (tryout 18: a letter a line;
   tryout 19: 6-8 characters, its longer words split). overflow-wrap: break-word keeps each word's width in the
   column's minimum (anywhere would let the table squeeze it to one letter); a token longer than NOTE_WORD_CHARS
   (a URL, a zigbee2mqtt name) is its own span that may break anywhere, so it cannot widen the table. */
td.note { color: var(--muted); min-width: calc(18ch + 1rem); overflow-wrap: break-word; }
td.note .long-token { overflow-wrap: anywhere; }
td button { font: inherit; font-size: .8rem; margin: 0 .25rem .25rem 0; padding: .15rem .5rem; cursor: pointer; }
tr.selected td { background: var(--panel); }
/* Where the episodes' box is narrower than the table's columns at their minimum (about 56 rem: beside the sensor list
   at 800 px the table scrolled sideways, 788 px in 496, tryout 19), or on a phone, each episode is a card, its fields
   one under another at the box's full width. A container query: what decides is the box, not the window. */
#episodes-section { container-type: inline-size; }
@container (max-width: 58rem) {
  #episodes-table thead { display: none; }
  #episodes-table, #episodes-table tbody, #episodes-table tr, #episodes-table td { display: block; }
  #episodes-table tr { padding: .4rem 0; border-bottom: 1px solid var(--line); }
  #episodes-table td { border: 0; padding: .1rem .25rem; min-width: 0; }
}
.muted { color: var(--muted); }
`;

export const PAGE_SCRIPT = `
'use strict';
var REFRESH_MS = ${PAGE_REFRESH_MS};
var NOTE_WORD_CHARS = ${NOTE_WORD_CHARS};
var KIND_WORDS = ${JSON.stringify(KIND_LABELS)};
var TOKEN_KEY = 'anomalyd-token';
var RANGES = ['1h', '24h', '7d'];
var state = { selected: null, chosen: false, range: '1h', sensors: [], filter: '', openIds: {}, folded: {}, timeZone: null, zoneFmt: null,
  token: sessionStorage.getItem(TOKEN_KEY) || '', tokenRefused: false, timer: 0, charts: {}, series: null, held: [], anomalies: [], allEpisodes: false, offScale: null, xSpan: null };
/** Most urgent first: a sensor with an open episode (a silence's missing data too, while stale), then anomalous, stale, learning, ok. */
var RANK = { anomalous: 1, stale: 2, learning: 3, ok: 4 };
/** Devices named at most in the header's list of those with an open episode (the list below has them all, first). */
var PROBLEMS_NAMED = 8;

function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
/**
 * Every time on the page is shown in one zone, the daemon's for its sentences (explain.timeZone, or its system's:
 * /api/status timeZone), labelled, as YYYY-MM-DD HH:MM:SS (24 h), so a row's start and its sentence's "since 22:14"
 * agree; the browser's zone only when the daemon does not say (then labelled so).
 */
function zoneLabel() { return state.timeZone || 'this browser’s zone'; }
function zoneParts(ts) {
  if (state.zoneFmt === null) {
    var opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
    try { state.zoneFmt = new Intl.DateTimeFormat('en-GB', state.timeZone ? Object.assign({ timeZone: state.timeZone }, opts) : opts); }
    catch (e) { state.timeZone = null; state.zoneFmt = new Intl.DateTimeFormat('en-GB', opts); }
  }
  var out = {};
  state.zoneFmt.formatToParts(new Date(ts)).forEach(function (p) { out[p.type] = p.value; });
  return out;
}
function fmtTime(ts) {
  if (ts === null || ts === undefined) return '–';
  var p = zoneParts(ts);
  return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ':' + p.second;
}
/** An axis tick: HH:MM (HH:MM:SS below a minute's spacing, MM-DD from a day's), in the page's zone. */
function fmtTick(ts, incr) {
  var p = zoneParts(ts);
  if (incr >= 86400000) return p.month + '-' + p.day;
  if (incr < 60000) return p.hour + ':' + p.minute + ':' + p.second;
  return (p.hour === '00' && p.minute === '00' ? p.month + '-' + p.day + ' ' : '') + p.hour + ':' + p.minute;
}
/* Durations by the one rule of the sentences and the CLI: src/util/duration.ts, its own source. */
${formatDuration.toString()}
/* A reading with its stream's precision (the decimals its device sends), as the sentences write it: src/util/reading.ts. */
${formatReading.toString()}
function fmtDuration(ms) {
  return formatDuration(ms);
}
/** A reading as the list shows it: 4 significant digits, but every digit of the integer part (a meter's 20210701, not 2.02e+7). */
function fmtNum(v) {
  if (v === null || v === undefined || !isFinite(v)) return '–';
  var a = Math.abs(v);
  if (a !== 0 && (a >= 1e15 || a < 1e-3)) return v.toExponential(2);
  if (a >= 1000) return String(Math.round(v * 1000) / 1000);
  return String(Number(v.toPrecision(4)));
}
function setState(s) { document.body.setAttribute('data-state', s); }
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
  var by = s.sensors.byStatus;
  var zone = typeof s.timeZone === 'string' && s.timeZone !== '' ? s.timeZone : null;
  if (zone !== state.timeZone) { state.timeZone = zone; state.zoneFmt = null; }
  var parts = ['v' + s.version, 'up ' + fmtDuration(s.uptimeMs), s.mqtt.connected ? 'MQTT connected' : 'MQTT disconnected',
    'model ' + (s.model || 'none'), s.sensors.total + ' sensors (' + by.ok + ' ok, ' + by.anomalous + ' anomalous, ' + by.learning + ' in their learning period, ' + by.stale + ' stale)'];
  var own = s.sensors.ownModel;
  if (own && own.collecting + own.queued + own.training > 0) parts.push((own.collecting + own.queued + own.training) + ' learning their own model');
  if (s.outbox && s.outbox.pending > 0) parts.push(s.outbox.pending + (s.outbox.pending === 1 ? ' alert' : ' alerts') + ' waiting for the broker');
  if (s.outbox && s.outbox.overdue && s.outbox.overdue.current) parts.push('an alert not acknowledged in time: reconnecting to send it again');
  var rejected = Object.keys(s.rejections).reduce(function (t, k) { return t + s.rejections[k]; }, 0);
  if (rejected > 0) parts.push(rejected + ' readings rejected');
  var refused = s.broker && s.broker.publishes ? s.broker.publishes.count : 0;
  if (refused > 0) parts.push(refused + ' publishes refused by the broker (' + s.broker.publishes.topics + (s.broker.publishes.moreTopics ? '+' : '') + ' topics; anomalyd status)');
  parts.push('times in ' + zoneLabel());
  document.getElementById('daemon').textContent = parts.join(' · ');
  // Another MQTT client with this daemon's client id takes its session over and back (anomalyd status says more).
  var clash = s.mqtt.clientIdClash;
  var clashBox = document.getElementById('clash');
  // Another daemon on this one's status topic (the same mqtt.topicPrefix): its stop said 'offline' for this one.
  var prefixClash = s.mqtt.statusTopicClash;
  var clashText = clash ? 'MQTT client id clash: another client connects as "' + clash.clientId + '" and takes the session over (' + clash.closes +
    ' times in a row); readings go to either and the retained status flaps. Give every anomalyd its own mqtt.clientId.' : '';
  if (prefixClash) clashText += (clashText ? ' ' : '') + 'MQTT topic prefix clash: another client published "' + prefixClash.payload + '" on ' + prefixClash.topic +
    ' (' + prefixClash.times + (prefixClash.times === 1 ? ' time' : ' times') + '), most likely a second anomalyd with the same mqtt.topicPrefix. Give each anomalyd its own mqtt.topicPrefix.';
  clashBox.textContent = clashText;
  clashBox.hidden = !clashText;
  document.getElementById('start-col').textContent = 'Start (' + zoneLabel() + ')';
}

/** True when the sensor has an open episode of any kind: a missing-data one leaves it stale, not anomalous. */
function hasOpen(s) { return (s.openEpisode !== undefined && s.openEpisode !== null) || s.status === 'anomalous' || state.openIds[s.sensor] === true; }
function rank(s) { return hasOpen(s) ? 0 : (RANK[s.status] || 5); }
/** Case-insensitive (then exact) name order, as src/http/view.ts byName. */
function byName(a, b) {
  var x = a.toLowerCase(), y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}
function byUrgency(a, b) { return rank(a) - rank(b) || byName(a.sensor, b.sensor); }

/**
 * The header's line naming the devices with an open episode, one entry per device (a stream of no device of several:
 * the stream), each naming its streams with one, each a link to its plot: 'wx0: humidity, pressure'. Counted and cut
 * (PROBLEMS_NAMED) by device, not by field (tryout 38, finding 14: a silent weather station's four fields filled the
 * header as four sensors, the others cut to "and 21 more"). A device whose fields carry one episode of the device
 * (its silence: every field went silent together, one 'missing data' episode; docs/ALERTS.md, "A device whose every
 * field goes silent") is named as one, 'wx0 silent: humidity, pressure, temperature, wind', the device a link to its
 * first field; a device that says it is offline (its 'device_offline' episode) once, by its name, as /api/status and
 * anomalyd status do (tryout 24, finding 2), a click on it showing its most urgent stream. Each entry is a
 * 'span.problem' (data-device), kept whole on one line.
 */
function renderProblems() {
  var box = document.getElementById('problems');
  box.replaceChildren();
  if (state.sensors.length === 0) return;
  var entries = [];
  var byDevice = {};
  state.sensors.filter(hasOpen).forEach(function (s) {
    var d = deviceOf(s);
    if (!Object.prototype.hasOwnProperty.call(byDevice, d)) { byDevice[d] = { device: d, names: [], firstOf: {}, ids: {}, streams: 0, silence: true }; entries.push(byDevice[d]); }
    var e = byDevice[d];
    // A stream's own episode names the stream; its device's device_offline episode names the device.
    var name = s.openEpisodeKind === 'device_offline' ? d : s.sensor;
    e.streams++;
    var id = s.openEpisode || null;
    // One episode carried by every open field of the device, not a device_offline: the device's silence (its record's
    // kind missing data, its fields its members).
    if (id === null || name === d || (s.episode && s.episode.kind && s.episode.kind !== 'missing_data')) e.silence = false;
    e.ids[id] = true;
    if (Object.prototype.hasOwnProperty.call(e.firstOf, name)) return;
    e.firstOf[name] = s.sensor;
    e.names.push(name);
  });
  entries.forEach(function (e) {
    e.names.sort(byName);
    e.silence = e.silence && e.names.length > 1 && Object.keys(e.ids).length === 1;
  });
  entries.sort(function (a, b) { return byName(a.device, b.device); });
  box.setAttribute('data-open', String(entries.length));
  if (entries.length === 0) { box.appendChild(el('span', { class: 'none' }, 'No open episode.')); return; }
  box.appendChild(document.createTextNode(entries.length + (entries.length === 1 ? ' device has an open episode: ' : ' devices have an open episode: ')));
  var named = entries.slice(0, PROBLEMS_NAMED);
  named.forEach(function (e, i) {
    // After a device's list of fields a semicolon, so the next name does not read as one of its fields.
    if (i > 0) box.appendChild(document.createTextNode(named[i - 1].names.length > 1 ? '; ' : ', '));
    var item = el('span', { class: 'problem', 'data-device': e.device });
    var d = e.device;
    var names = e.names;
    if (e.silence) {
      var lead = el('button', { type: 'button', title: d + ': every field silent, one episode: show ' + e.firstOf[names[0]] }, d);
      lead.addEventListener('click', function () { choose(e.firstOf[names[0]]); });
      item.appendChild(lead);
      item.appendChild(document.createTextNode(' silent: '));
    } else if (names.length > 1) {
      item.appendChild(document.createTextNode(d + ': '));
    }
    names.forEach(function (name, k) {
      if (k > 0) item.appendChild(document.createTextNode(', '));
      // Among its streams' own episodes, the device's (it said it is offline) is 'the device'.
      var label = names.length > 1 && name === d ? 'the device' : names.length > 1 && name.indexOf(d + '/') === 0 ? name.slice(d.length + 1) : name;
      var b = el('button', { type: 'button', title: e.firstOf[name] === name ? 'show ' + name : name + ' said it is offline: show ' + e.firstOf[name] }, label);
      b.addEventListener('click', function () { choose(e.firstOf[name]); });
      item.appendChild(b);
    });
    box.appendChild(item);
  });
  if (entries.length > PROBLEMS_NAMED) box.appendChild(document.createTextNode(' and ' + (entries.length - PROBLEMS_NAMED) + ' more (first in the list)'));
}

/**
 * The sensors, most urgent first (byUrgency). The page opens on the most urgent: a sensor with an open episode when
 * there is one (a silence's too), not the alphabetically first; until the operator picks one, it moves to a sensor
 * with an open episode when the one shown has none.
 */
function renderSensors(list) {
  state.sensors = list.slice().sort(byUrgency);
  var current = state.sensors.filter(function (s) { return s.sensor === state.selected; })[0];
  var top = state.sensors[0];
  // Not a jump from one quiet sensor to another as statuses change: only to a problem the shown sensor is not.
  if (top === undefined) state.selected = null;
  else if (current === undefined || (!state.chosen && hasOpen(top) && !hasOpen(current))) state.selected = top.sensor;
  renderSensorList();
  renderProblems();
}

/** What the filter box keeps: every word of it in the sensor's name, its device's or its status (or "open" for an open episode). */
function matches(s, words) {
  var text = (s.sensor + ' ' + deviceOf(s) + ' ' + s.status + (hasOpen(s) ? ' open' : '')).toLowerCase();
  return words.every(function (w) { return text.indexOf(w) >= 0; });
}

/** The device a stream belongs to (/api/sensors device: plug-washer for plug-washer/ENERGY.Power); a daemon before it: the stream. */
function deviceOf(s) { return s.device || s.sensor; }

/**
 * The sensor list: the streams the filter keeps, most urgent first, a device's streams together. A device with two
 * or more of them shown is one item: its name, how many streams and how many have an open episode (in red), and its
 * streams under it by their field, most urgent first; the devices in the order of their most urgent stream. It is
 * folded only when the operator folds it (state.folded), never while it holds the shown sensor or a filter is typed.
 */
function renderSensorList() {
  var list = state.sensors;
  var words = state.filter.toLowerCase().split(/\\s+/).filter(function (w) { return w !== ''; });
  var shown = words.length === 0 ? list : list.filter(function (s) { return matches(s, words); });
  document.getElementById('sensor-count').textContent = words.length === 0 ? '' : shown.length + ' of ' + list.length + ' sensors';
  var ul = document.getElementById('sensors');
  ul.replaceChildren();
  if (list.length === 0) ul.appendChild(el('li', { class: 'muted' }, 'No sensor has reported yet: publish readings to the configured topics (sensors/<name> by default).'));
  else if (shown.length === 0) ul.appendChild(el('li', { class: 'muted' }, 'No sensor matches “' + state.filter.trim() + '”.'));
  var groups = [];
  var byDevice = {};
  shown.forEach(function (s) {
    var d = deviceOf(s);
    if (!Object.prototype.hasOwnProperty.call(byDevice, d)) { byDevice[d] = { device: d, streams: [] }; groups.push(byDevice[d]); }
    byDevice[d].streams.push(s);
  });
  groups.forEach(function (g) {
    if (g.streams.length < 2) { ul.appendChild(sensorItem(g.streams[0], null)); return; }
    var open = g.streams.filter(hasOpen).length;
    var li = el('li', { class: 'device', 'data-device': g.device, 'data-open': String(open > 0) });
    var box = el('details', {});
    var holdsSelected = g.streams.some(function (s) { return s.sensor === state.selected; });
    box.open = holdsSelected || words.length > 0 || state.folded[g.device] !== true;
    var head = el('summary', { title: g.device + ': ' + g.streams.length + ' streams' });
    // The operator's own fold, remembered across refreshes (a click on the summary toggles it after this).
    head.addEventListener('click', function () { state.folded[g.device] = box.open; });
    head.appendChild(el('span', { class: 'device-name' }, g.device));
    head.appendChild(el('span', { class: 'device-count' }, g.streams.length + ' streams'));
    if (open > 0) head.appendChild(el('span', { class: 'device-count open' }, open + ' with an open episode'));
    box.appendChild(head);
    var inner = el('ul', { class: 'streams' });
    g.streams.forEach(function (s) { inner.appendChild(sensorItem(s, g.device)); });
    box.appendChild(inner);
    li.appendChild(box);
    ul.appendChild(li);
  });
}

/**
 * The words after a sensor's latest value: its latest reading's surprise; while an episode is open, first the episode
 * (its kind, since when, and what its readings are judged against: /api/sensors \`episode\`), then the latest reading's
 * own surprise, never "normal": inside an episode a reading scores 0 unless it is tenfold rarer than the episode so far
 * (docs/SCORING.md), so a dying battery's drift read 'latest reading normal (surprise 0)' beside its open alarm (tryout
 * 29, finding F7; tryout 28 F11: 'anomalous · surprise 0' read as a contradiction).
 */
function surpriseWords(s) {
  if (!s.openEpisode) return ' · surprise ' + fmtNum(s.surprise);
  return ' · ' + episodeWords(s) + ' · latest reading’s own surprise ' + fmtNum(s.surprise);
}

/** An open episode in words: 'in an open drift episode since 2026-12-01 06:48:00, judged against 3.896 ± 0.007 V'. */
function episodeWords(s) {
  var e = s.episode;
  if (!e) return 'in an open episode';
  var num = function (v) { return typeof s.decimals === 'number' ? formatReading(v, s.decimals) : fmtNum(v); };
  var kind = e.kind ? KIND_WORDS[e.kind] || e.kind : null;
  return 'in an open ' + (kind ? kind + ' episode' : 'episode (kind not told yet)') + (e.since !== null ? ' since ' + fmtTime(e.since) : '') +
    (e.expected !== null && e.expected !== undefined ? ', judged against ' + num(e.expected) + (e.band !== null && e.band !== undefined ? ' ± ' + num(e.band) : '') + (e.unit ? ' ' + e.unit : '') : '');
}

/** One stream's item; under its device (device given) named by the rest of its name (its field). */
function sensorItem(s, device) {
  var name = device !== null && s.sensor.indexOf(device + '/') === 0 ? s.sensor.slice(device.length + 1) : s.sensor;
  var button = el('button', { type: 'button', 'aria-pressed': String(s.sensor === state.selected), title: s.sensor + ': latest reading ' + fmtTime(s.lastTs) });
  button.appendChild(el('span', { class: 'name' }, name));
  button.appendChild(el('span', { class: 'badge ' + s.status }, s.status));
  // A stale sensor whose silence is not judged yet (its learning period): no alert comes however long it is silent.
  if (s.status === 'stale' && s.silenceJudged === false) button.appendChild(el('span', { class: 'value', title: 'in its learning period its silence is judged from its 6th reading if it has sent a value twice in a row and kept its pace, else from its 32nd unless it seems to send changes only; and once it may alert; told dead all the same after 5 of its heartbeats once its longest gap recurs, else after window.learningSilenceMs (24 h) and 10 times its longest gap' }, 'silence not judged yet (learning)'));
  // An on/off stream: its state by name, and what is judged of it (its values are not: no surprise of them).
  if (s.onOff) button.appendChild(el('span', { class: 'value', title: 'an on/off stream: its silence and how long it holds a state are judged, not its state' }, (s.onOff.state === null ? 'no reading yet' : s.onOff.state) + ' · judged on its silence and how long it holds a state'));
  else button.appendChild(el('span', s.episode && s.episode.sentence ? { class: 'value', title: s.episode.sentence } : { class: 'value' }, s.value === null ? 'no reading yet' : (typeof s.decimals === 'number' ? formatReading(s.value, s.decimals) : fmtNum(s.value)) + (s.unit ? ' ' + s.unit : '') + surpriseWords(s)));
  if (s.ownModel) button.appendChild(el('span', { class: 'value own-model' }, ownModelText(s.ownModel)));
  // An on/off stream whose state held is not judged yet (too few of its active state's dwells learnt): a door left open is not told yet.
  if (s.onOff && s.onOff.held && heldStateText(s.onOff.held) !== null) button.appendChild(el('span', { class: 'value held-learning', title: 'a state held far longer than before is told once it has learnt this many' }, heldStateText(s.onOff.held)));
  if (s.pinned) button.appendChild(el('span', { class: 'value pinned' }, 'pinned to its model (anomalyd models unpin)'));
  if (s.modelNote) button.appendChild(el('span', { class: 'value model-note' }, s.modelNote));
  button.addEventListener('click', function () { choose(s.sensor); });
  var li = el('li', { 'data-sensor': s.sensor, 'data-open': String(hasOpen(s)) });
  li.appendChild(button);
  return li;
}

/** The operator picked a sensor: it stays shown (the page no longer follows the most urgent). */
function choose(sensor) { state.chosen = true; state.selected = sensor; saveView(); refresh(); }

/**
 * The view in the address, so a sensor and range can be linked and bookmarked: #sensor=<stream>&range=24h (the
 * stream percent-encoded). readView takes it at load and when the address changes; saveView writes the operator's
 * choice back (history.replaceState: no new history entry per click).
 */
function readView() {
  var p = new URLSearchParams(location.hash.replace(/^#/, ''));
  var sensor = p.get('sensor');
  if (sensor) { state.selected = sensor; state.chosen = true; }
  var range = p.get('range');
  if (range && RANGES.indexOf(range) >= 0) state.range = range;
}
function saveView() {
  var p = new URLSearchParams();
  if (state.chosen && state.selected !== null) p.set('sensor', state.selected);
  p.set('range', state.range);
  history.replaceState(null, '', '#' + p.toString());
}

/** The wording of src/contract/held-state.ts heldStateText (test/http/page.test.ts holds the two to it). */
function heldStateText(p) {
  if (p.have >= p.needed) return null;
  return 'learning how long it stays ' + p.state + ': ' + Math.min(p.have, p.needed) + ' / ' + p.needed + ' times';
}

/** The wording of src/contract/own-model.ts ownModelText (test/http/page.test.ts holds the two to it). */
function ownModelText(p) {
  var count = function (n) { return Math.round(n).toLocaleString('en-US'); };
  var have = p.sinceTry !== undefined
    ? count(Math.min(p.sinceTry, p.needed)) + ' / ' + count(p.needed) + ' readings since its last try, ' + count(p.readings) + ' in all'
    : count(Math.min(p.readings, p.needed)) + ' / ' + count(p.needed) + ' readings';
  if (p.phase === 'training') return 'training its own model';
  if (p.phase === 'stopped') return 'not learning its own model: ' + (p.lastTry !== undefined ? p.lastTry : 'stopped');
  return 'learning its own model: ' + have + (p.phase === 'queued' ? ', training queued' : '') + (p.lastTry !== undefined ? ' (' + p.lastTry + ')' : '');
}

/** Runs of consecutive anomalous points, as [firstIndex, lastIndex] pairs. */
function runs(flags) {
  var out = [];
  var start = -1;
  for (var i = 0; i <= flags.length; i++) {
    if (i < flags.length && flags[i]) { if (start < 0) start = i; }
    else if (start >= 0) { out.push([start, i - 1]); start = -1; }
  }
  return out;
}

/**
 * A uPlot hook that shades the anomalous stretches under the series (an episode's own readings, not the closing ones
 * that hold it open after them: SeriesStore.settleEpisode), and counts what it drew: data-shaded the stretches,
 * data-shaded-points the points in them.
 */
function shadePlugin(host) {
  return { hooks: { drawClear: [function (u) {
    var d = state.series;
    var drawn = 0, points = 0;
    if (d && d.ts.length > 0) {
      var ctx = u.ctx;
      var half = d.ts.length > 1 ? (d.ts[d.ts.length - 1] - d.ts[0]) / (d.ts.length - 1) / 2 : 1000;
      ctx.save();
      ctx.fillStyle = css('--shade');
      runs(d.anomalous).forEach(function (r) {
        var x0 = u.valToPos(d.ts[r[0]] - half, 'x', true), x1 = u.valToPos(d.ts[r[1]] + half, 'x', true);
        ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
        drawn++;
        points += r[1] - r[0] + 1;
      });
      ctx.restore();
    }
    host.setAttribute('data-shaded', String(drawn));
    host.setAttribute('data-shaded-points', String(points));
  }] } };
}

/**
 * Per point i (from 1), whether its value was held from point i - 1 until it (drawn as a step: flat, then up or
 * down at i) rather than a slope between the two (tryout 27, finding 8: a report-on-change humidity of 4 readings in
 * 2.5 min drawn as slopes while the daemon holds each until the next). Held: every point of an on/off stream (its
 * state holds until it changes); between two single readings (a reading stands until the next one; the daemon fills a
 * missed step with the reading before it: src/pipeline/cadence.ts); across a gap of 1.5 times the series' usual spacing
 * or more (nothing was read in it: the cadence's own rule for a missed step, so it holds at any sampling rate).
 * Between merged neighbours (means of a minute, a quarter-hour) a slope, as before.
 */
function heldFlags(d, onOff) {
  var n = d.ts.length, flags = [false], gaps = [];
  for (var i = 1; i < n; i++) gaps.push(d.ts[i] - d.ts[i - 1]);
  var sorted = gaps.slice().sort(function (a, b) { return a - b; });
  var usual = sorted.length > 0 ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
  for (var k = 1; k < n; k++) flags.push(onOff || (d.count[k] === 1 && d.count[k - 1] === 1) || (usual > 0 && d.ts[k] - d.ts[k - 1] >= 1.5 * usual));
  return flags;
}

/**
 * A uPlot path builder: a line between neighbours, a step (flat, then vertical) into each point state.held flags (the
 * plotted series' heldFlags: read at each draw, as a chart kept across refreshes gets new data); a null breaks it.
 */
function heldPaths() {
  return function (u, sidx, i0, i1) {
    var xs = u.data[0], ys = u.data[sidx], held = state.held || [], stroke = new Path2D(), on = false, lastY = 0;
    for (var i = i0; i <= i1; i++) {
      var y = ys[i];
      if (y === null || y === undefined) { on = false; continue; }
      var px = u.valToPos(xs[i], 'x', true), py = u.valToPos(y, u.series[sidx].scale || 'y', true);
      if (!on) { stroke.moveTo(px, py); on = true; }
      else { if (held[i]) stroke.lineTo(px, lastY); stroke.lineTo(px, py); }
      lastY = py;
    }
    return { stroke: stroke, fill: null, clip: null, band: null, gaps: null, flags: 0 };
  };
}

function bandOf(d, c) {
  var hi = [], lo = [], model = 0, baseline = 0;
  for (var i = 0; i < d.ts.length; i++) {
    var e = d.expected[c][i], s = d.spread[c][i];
    if (e !== null && s !== null) { hi.push(e + 2 * s); lo.push(e - 2 * s); model++; continue; }
    var b = d.baseline[c][i], bs = d.baselineSpread[c][i];
    if (b !== null && bs !== null) { hi.push(b + 2 * bs); lo.push(b - 2 * bs); baseline++; continue; }
    hi.push(null); lo.push(null);
  }
  return { hi: hi, lo: lo, model: model, baseline: baseline };
}

/** uPlot places its ticks on the page's zone's hours (uPlot.tzDate), as fmtTick labels them. */
function tzDate(ts) { return state.timeZone ? uPlot.tzDate(new Date(ts), state.timeZone) : new Date(ts); }

function chartWidth(host) { return Math.max(280, Math.floor(host.getBoundingClientRect().width) - 2); }

function plot(name, host, opts, data) {
  var old = state.charts[name];
  if (old && old.series.length === opts.series.length && old.__key === opts.__key) {
    old.setData(data);
    return old;
  }
  if (old) old.destroy();
  host.replaceChildren();
  var u = new uPlot(opts, data, host);
  u.__key = opts.__key;
  state.charts[name] = u;
  return u;
}

/**
 * The time axis, its ticks in the page's zone (fmtTick), not the browser's 12-hour clock; at least 90 px between
 * ticks, so a label with seconds (10:01:30) never runs into the next (uPlot's default is 50: tryout 18).
 */
function timeAxis() {
  return { stroke: css('--muted'), grid: { stroke: css('--line') }, space: 90,
    values: function (u, splits, axisIdx, space, incr) { return splits.map(function (ts) { return fmtTick(ts, incr); }); } };
}
/** Room for the value axis's longest label (a meter's 20210700 needs more than 60 px). */
function valueAxisSize(u, values) {
  var longest = (values || []).reduce(function (m, v) { return Math.max(m, String(v).length); }, 0);
  return Math.max(60, longest * 8 + 16);
}

function rangeLabel(r) { return r.replace('h', ' h').replace('d', ' d'); }

/**
 * The time scale of a series' plots: its points' span, or, where they have none (a single point, or points of one
 * time), the span asked for (state.xSpan: the series' from and to, epoch ms, set at each render, so a chart kept and
 * given new data reads the new one). uPlot widens a time scale of no span by 86,400 of its units, 86.4 s in ms: one
 * point in a 7-day view was drawn on a minute's axis (tryout 38, finding 4).
 */
function timeScale() {
  return { time: true, range: function (u, min, max) {
    var xs = u.data && u.data[0], s = state.xSpan;
    return s && xs && xs.length > 0 && xs[0] === xs[xs.length - 1] ? [s[0], s[1]] : [min, max];
  } };
}

/** How far the band may widen a plot's scale beyond its readings: this many times the readings' own extent. */
var BAND_REACH = 0.5;

/** The extent of d's readings (value, and merged points' min and max): { lo, hi }, or null when it has none. */
function readingsExtent(d) {
  var lo = Infinity, hi = -Infinity;
  d.value.concat(d.min || [], d.max || []).forEach(function (a) { (a || []).forEach(function (v) { if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
  return isFinite(lo) ? { lo: lo, hi: hi } : null;
}

/** Points at least, for a reading to be told off the scale (offScale): fewer tell no spread. */
var OFF_SCALE_MIN_POINTS = 20;
/** How many spreads (the 1st to 99th percentile's width) beyond them a reading is off the scale. */
var OFF_SCALE_SPREADS = 10;

/**
 * The readings far off the scale of the rest (a firmware glitch: 4294967295 or 1e14 among readings of 5.0, tryout
 * 25), which would squash the plot to a flat line: beyond the 1st or 99th percentile of the points' values (and of
 * merged points' min and max) by OFF_SCALE_SPREADS times their distance. Null when none, or fewer than
 * OFF_SCALE_MIN_POINTS values; else { lo, hi: the scale that holds the rest, count, worst: the farthest value, ts }.
 */
function offScale(d) {
  var vals = [];
  var arrays = d.value.concat(d.min || [], d.max || []);
  arrays.forEach(function (a) { (a || []).forEach(function (v) { if (v !== null && isFinite(v)) vals.push(v); }); });
  if (vals.length < OFF_SCALE_MIN_POINTS) return null;
  var sorted = vals.slice().sort(function (a, b) { return a - b; });
  var q = function (p) { return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]; };
  var q01 = q(0.01), q99 = q(0.99);
  var spread = q99 - q01 > 0 ? q99 - q01 : Math.max(Math.abs(q99) * 0.01, 1e-9);
  var lo = q01 - OFF_SCALE_SPREADS * spread, hi = q99 + OFF_SCALE_SPREADS * spread;
  var count = 0, worst = null, worstTs = null, inLo = Infinity, inHi = -Infinity;
  d.ts.forEach(function (ts, i) {
    var off = false;
    arrays.forEach(function (a) {
      var v = a ? a[i] : null;
      if (v === null || v === undefined || !isFinite(v)) return;
      if (v < lo || v > hi) {
        off = true;
        if (worst === null || Math.abs(v - q99) > Math.abs(worst - q99)) { worst = v; worstTs = ts; }
      } else { inLo = Math.min(inLo, v); inHi = Math.max(inHi, v); }
    });
    if (off) count++;
  });
  if (count === 0 || !isFinite(inLo)) return null;
  var pad = (inHi - inLo) * 0.1 || spread;
  return { lo: inLo - pad, hi: inHi + pad, count: count, worst: worst, ts: worstTs };
}

/**
 * The series broken at each change of its points' unit (d.unit, per point; tryout 28, finding 10: °F readings drawn
 * on a °C axis, the band joined across the change): a copy of d with a row of nulls between two points in different
 * units, so no line, step or band joins them; unit per row (null in a break's row), units the units in the order
 * they come, breaks [{ ts, from, to }]: where each change falls (the hub's change time when d.unitChanges has it,
 * else half-way between the two points). d itself when every point is in one unit.
 */
function splitByUnit(d) {
  var units = d.unit || [];
  var seen = [];
  units.forEach(function (u) { if (u !== null && u !== undefined && seen.indexOf(u) < 0) seen.push(u); });
  if (seen.length < 2) return Object.assign({}, d, { units: seen, breaks: [] });
  var n = d.ts.length, rows = [], breaks = [], lastUnit = null, lastI = -1;
  for (var i = 0; i < n; i++) {
    var u = units[i];
    if (u !== null && u !== undefined) {
      if (lastUnit !== null && u !== lastUnit) {
        var told = (d.unitChanges || []).filter(function (c) { return c.ts > d.ts[lastI] && c.ts <= d.ts[i]; })[0];
        var at = told ? Math.min(told.ts, d.ts[i]) : (d.ts[lastI] + d.ts[i]) / 2;
        breaks.push({ ts: at, from: lastUnit, to: u });
        rows.push(-breaks.length);
      }
      lastUnit = u; lastI = i;
    }
    rows.push(i);
  }
  var pick = function (a, blank) { return a ? rows.map(function (r, k) { return r >= 0 ? a[r] : blank; }) : a; };
  var perChannel = function (a) { return a ? a.map(function (col) { return pick(col, null); }) : a; };
  var out = Object.assign({}, d);
  out.ts = rows.map(function (r) { return r >= 0 ? d.ts[r] : breaks[-r - 1].ts; });
  ['count', 'surprise', 'threshold'].forEach(function (k) { out[k] = pick(d[k], null); });
  out.anomalous = pick(d.anomalous, false);
  ['value', 'min', 'max', 'expected', 'spread', 'baseline', 'baselineSpread'].forEach(function (k) { out[k] = perChannel(d[k]); });
  out.unit = pick(units, null);
  out.units = seen;
  out.breaks = breaks;
  return out;
}

/** A copy of the per-row array a with null wherever the row's unit is not that one (splitByUnit's d.unit). */
function onlyUnit(d, a, unit) {
  return a.map(function (v, i) { return d.unit[i] === unit ? v : null; });
}

/** A uPlot hook that draws each change of unit (d.breaks) as a dashed line with its words, and counts what it drew. */
function unitBreakPlugin(host) {
  return { hooks: { draw: [function (u) {
    var d = state.series, drawn = 0;
    if (d && d.breaks) {
      var ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = css('--muted');
      ctx.fillStyle = css('--muted');
      ctx.setLineDash([4, 4]);
      ctx.font = Math.round(11 * devicePixelRatio) + 'px sans-serif';
      d.breaks.forEach(function (b) {
        var x = Math.round(u.valToPos(b.ts, 'x', true));
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        var words = 'unit changed ' + b.from + ' → ' + b.to;
        var w = ctx.measureText(words).width;
        // Beside the line, inside the plot: left of it when there is no room to its right.
        var tx = x + 4 + w <= u.bbox.left + u.bbox.width ? x + 4 : x - 4 - w;
        ctx.fillText(words, tx, u.bbox.top + 12 * devicePixelRatio);
        drawn++;
      });
      ctx.restore();
    }
    host.setAttribute('data-unit-breaks', String(drawn));
  }] } };
}

function renderSeries(d, sensor) {
  // The surprise has no unit: its plot is not broken at a change of the readings' unit.
  var whole = d;
  d = splitByUnit(d);
  state.series = d;
  state.xSpan = typeof whole.from === 'number' && typeof whole.to === 'number' && whole.to > whole.from ? [whole.from, whole.to] : null;
  // The unit of what is drawn (the points' own), not the sensor's unit now: a span before a change is in the old one.
  var units = d.units.length > 0 ? d.units : sensor && sensor.unit ? [sensor.unit] : [];
  var unit = units.length === 1 ? ' ' + units[0] : '';
  var unitNote = units.length > 0 ? ' (' + units.join(', then ') + ')' : '';
  var readingsHost = document.getElementById('readings-chart');
  var surpriseHost = document.getElementById('surprise-chart');
  var title = document.getElementById('sensor-title');
  title.textContent = d.stream;
  title.setAttribute('title', d.stream);
  var n = d.ts.length;
  readingsHost.setAttribute('data-points', String(n - d.breaks.length));
  readingsHost.setAttribute('data-units', units.join(' | '));
  if (n === 0) {
    Object.keys(state.charts).forEach(function (k) { state.charts[k].destroy(); delete state.charts[k]; });
    [readingsHost, surpriseHost].forEach(function (h) { h.replaceChildren(el('p', { class: 'none' }, 'No scored readings in this range yet.')); h.setAttribute('data-shaded', '0'); });
    readingsHost.setAttribute('data-band', 'none');
    document.getElementById('readings-caption').textContent = 'Nothing to plot for ' + d.stream + ' in the last ' + rangeLabel(state.range) + '.';
    document.getElementById('surprise-caption').textContent = '';
    return;
  }
  var C = d.channels.length;
  var palette = [css('--accent'), '#e36209', '#1a7f37', '#8250df'];
  var data = [d.ts];
  var series = [{}];
  var bands = [];
  var modelPts = 0, baselinePts = 0, merged = d.count.some(function (k) { return k > 1; });
  var held = state.held = heldFlags(d, !!(sensor && sensor.onOff));
  var steps = held.filter(Boolean).length;
  readingsHost.setAttribute('data-steps', String(steps));
  // One scale (and axis) per unit the points are in: a unit's readings are drawn on the axis that names it.
  var scaleOf = function (k) { return k === 0 ? 'y' : 'y' + k; };
  var parts = units.length > 1 ? units : [null];
  parts.forEach(function (pu, k) {
    var only = function (a) { return pu === null ? a : onlyUnit(d, a, pu); };
    for (var c = 0; c < C; c++) {
      var color = palette[c % palette.length];
      var b = bandOf(d, c);
      var hi = only(b.hi), lo = only(b.lo);
      modelPts += pu === null ? b.model : 0; baselinePts += pu === null ? b.baseline : 0;
      if (pu !== null) hi.forEach(function (v, i) { if (v !== null) { if (d.expected[c][i] !== null) modelPts++; else baselinePts++; } });
      var base = data.length;
      data.push(hi, lo);
      series.push({ label: 'band high', scale: scaleOf(k), stroke: 'transparent', points: { show: false } }, { label: 'band low', scale: scaleOf(k), stroke: 'transparent', points: { show: false } });
      bands.push({ series: [base, base + 1], fill: b.model >= b.baseline ? css('--band') : css('--baseline') });
      if (merged) {
        data.push(only(d.max[c]), only(d.min[c]));
        series.push({ label: 'max', scale: scaleOf(k), stroke: 'transparent', points: { show: false } }, { label: 'min', scale: scaleOf(k), stroke: 'transparent', points: { show: false } });
        bands.push({ series: [base + 2, base + 3], fill: css('--envelope') });
      }
      data.push(only(d.value[c]));
      series.push({ label: (C > 1 ? d.channels[c] : d.stream) + (pu !== null ? ' (' + pu + ')' : ''), scale: scaleOf(k), stroke: color, width: 1.5, points: { show: n < 120 }, paths: heldPaths() });
    }
  });
  var bandKind = modelPts > 0 ? 'model' : baselinePts > 0 ? 'baseline' : 'none';
  readingsHost.setAttribute('data-band', bandKind);
  readingsHost.setAttribute('data-band-points', String(modelPts + baselinePts));
  var sync = { key: 'anomalyd' };
  // A glitch far off the scale does not squash the rest to a line: the scale holds the rest, the line runs off it.
  // Found per unit: a scale holds only readings in its own unit.
  var offs = parts.map(function (pu) {
    if (pu === null) return offScale(d);
    var o = offScale({ ts: d.ts, value: d.value.map(function (a) { return onlyUnit(d, a, pu); }), min: d.min && d.min.map(function (a) { return onlyUnit(d, a, pu); }), max: d.max && d.max.map(function (a) { return onlyUnit(d, a, pu); }) });
    return o === null ? null : Object.assign(o, { unit: pu });
  });
  state.offScales = offs;
  state.offScale = offs.filter(function (o) { return o !== null; })[0] || null;
  readingsHost.setAttribute('data-off-scale', String(offs.reduce(function (t, o) { return t + (o === null ? 0 : o.count); }, 0)));
  var scales = { x: timeScale() };
  var axes = [timeAxis()];
  // The readings' own extent per part: the band may widen the scale by at most BAND_REACH of it (a young stream's
  // band, ±200 around readings of 0.3 to 2.3 mm/s, drew them as a flat line: tryout 39, finding 10).
  var extents = parts.map(function (pu) {
    return pu === null ? readingsExtent(d) : readingsExtent({ value: d.value.map(function (a) { return onlyUnit(d, a, pu); }), min: d.min && d.min.map(function (a) { return onlyUnit(d, a, pu); }), max: d.max && d.max.map(function (a) { return onlyUnit(d, a, pu); }) });
  });
  // An on/off stream's readings are 0 (its off word) and 1 (its on word): its axis holds both and names them, whatever
  // it held in the range (an alarm field always clear was drawn on 0 to 100, read as percent: tryout 40, finding 11).
  var onOff = sensor && sensor.onOff && parts.length === 1 ? sensor.onOff : null;
  readingsHost.setAttribute('data-axis-states', onOff !== null ? onOff.off + ' | ' + onOff.on : '');
  parts.forEach(function (pu, k) {
    scales[scaleOf(k)] = { range: function (u, min, max) {
      if (onOff !== null) return [-0.25, 1.25];
      var o = state.offScales && state.offScales[k];
      if (o) return [o.lo, o.hi];
      var r = extents[k];
      if (r !== null) {
        var reach = BAND_REACH * Math.max(r.hi - r.lo, Math.abs(r.hi) * 0.01, 1e-9);
        min = Math.max(min, r.lo - reach);
        max = Math.min(max, r.hi + reach);
      }
      return uPlot.rangeNum(min, max, 0.1, true);
    } };
    var label = pu !== null ? pu : units.length === 1 ? units[0] : undefined;
    // The first unit's axis on the left, the next on the right; a third (rare) left again, and so on.
    var axis = { scale: scaleOf(k), side: k % 2 === 0 ? 3 : 1, stroke: css('--muted'), grid: { show: k === 0, stroke: css('--line') }, size: valueAxisSize, label: label };
    if (onOff !== null) {
      axis.splits = function () { return [0, 1]; };
      axis.values = function () { return [onOff.off, onOff.on]; };
    }
    axes.push(axis);
  });
  readingsHost.setAttribute('data-axis-labels', axes.slice(1).map(function (a) { return a.label || ''; }).join(' | '));
  plot('readings', readingsHost, {
    __key: 'r' + C + merged + '|' + d.stream + '|' + units.join(',') + '|' + zoneLabel(), width: chartWidth(readingsHost), height: 220, ms: 1, legend: { show: false }, cursor: { sync: sync }, tzDate: tzDate,
    scales: scales, series: series, bands: bands, plugins: [shadePlugin(readingsHost), unitBreakPlugin(readingsHost)], axes: axes,
  }, data);
  var runsCount = runs(d.anomalous).length;
  var bandText = bandKind === 'model' ? 'the band is what the model expected of each reading ± 2 spreads (it follows a lasting fault as the model does; what an episode is told against, the level before it, is in its line below)' :
    bandKind === 'baseline' ? 'the band is the normal range of the preceding readings (median ± 2 robust spreads; the model gave no expectation)' : 'no band yet';
  document.getElementById('readings-caption').textContent = 'Readings of ' + d.stream + unitNote + ', last ' + rangeLabel(state.range) + ' (' + (n - d.breaks.length) + (n - d.breaks.length === 1 ? ' point' : ' points') +
    (merged ? ', each merging up to ' + fmtDuration(d.resolutionMs) + ' of readings: line = mean, light band = min to max' : '') + '); ' +
    (steps > 0 ? 'a value held until the next reading is drawn as a step; ' : '') + bandText + '; ' +
    runsCount + ' anomalous stretch' + (runsCount === 1 ? '' : 'es') + ' shaded; times in ' + zoneLabel() + '.' +
    (state.offScale !== null ? ' ' + state.offScale.count + (state.offScale.count === 1 ? ' point is' : ' points are') + ' far off the scale of the rest, the line runs off the plot (' +
      fmtNum(state.offScale.worst) + (state.offScale.unit ? ' ' + state.offScale.unit : unit) + ' at ' + fmtTick(state.offScale.ts, 1000) + ').' : '') +
    // Readings are never converted: each is drawn in its own unit, on the axis that names it, the line broken at a change.
    (d.breaks.length > 0 ? ' Its hub changed the unit: ' + d.breaks.map(function (c) { return c.from + ' → ' + c.to + ' at ' + fmtTick(c.ts, 60000); }).join(', ') +
      '; readings are not converted: the plot breaks at each change (dashed), ' + units.map(function (u, k) { return u + ' on the ' + (k % 2 === 0 ? 'left' : 'right') + ' axis'; }).join(', ') + '.' :
      d.unitChanges && d.unitChanges.length > 0 ? ' Its hub changed the unit: ' + d.unitChanges.map(function (c) { return c.from + ' → ' + c.to + ' at ' + fmtTick(c.ts, 60000); }).join(', ') + '; readings are not converted, so those before a change are in its old unit.' : '') +
    // More unit changes than kept: the readings before the newest forgotten one are left out, their unit unknown.
    (typeof d.unitKnownFrom === 'number' ? ' Readings before ' + fmtTick(d.unitKnownFrom, 60000) + ' are left out: the hub changed the unit more than 8 times since, and theirs is no longer known.' : '');

  var thr = whole.threshold.filter(function (v) { return v !== null; });
  var thrNow = thr.length > 0 ? thr[thr.length - 1] : null;
  var top = Math.max.apply(null, whole.surprise.filter(function (v) { return v !== null; }).concat([thrNow === null ? 1 : thrNow * 1.3, 1]));
  plot('surprise', surpriseHost, {
    __key: 's|' + zoneLabel(), width: chartWidth(surpriseHost), height: 150, ms: 1, legend: { show: false }, cursor: { sync: sync }, tzDate: tzDate,
    scales: { x: timeScale(), y: { range: [0, top * 1.05] } }, plugins: [shadePlugin(surpriseHost)],
    series: [{}, { label: 'surprise', stroke: css('--accent'), width: 1.5, points: { show: false } }, { label: 'threshold', stroke: css('--anomalous'), dash: [6, 4], width: 1, points: { show: false } }],
    axes: [timeAxis(), { stroke: css('--muted'), grid: { stroke: css('--line') }, size: 60 }],
  }, [whole.ts, whole.surprise, whole.threshold]);
  var last = whole.surprise[whole.ts.length - 1];
  document.getElementById('surprise-caption').textContent = 'Surprise −log10(1 − score): 1 = one reading in ten is this unusual, 3 = one in a thousand; latest ' +
    fmtNum(last) + (thrNow !== null ? ', threshold ' + fmtNum(thrNow) + ' (dashed)' : '') + '.';
}

/**
 * The line above the plots: the selected sensor's open episode, else its last one. Open is what the daemon holds open
 * now (/api/sensors openEpisode, this refresh's), then what the store lists open; a field silent with its whole device
 * and a device that said it is offline are told by the device's episode. An open episode whose readings are back (the
 * newest points past its shaded ones: it closes once enough readings in a row are back, alerts.closeAfter) says so and
 * since when, not 'Anomalous now' (the twenty-ninth session's tryout, finding 2: a spike's 'Anomalous now' stayed about
 * 3 min, its 16 closing readings at 10 s). data-open: the id of the open episode told, data-back: since when its
 * readings are back (epoch ms), for a test to read.
 */
function renderExplanation(sensor) {
  var box = document.getElementById('explanation');
  var device = sensor ? deviceOf(sensor) : state.selected;
  // A field silent with its whole device: the device's episode, which tells its silence (AnomalyRecord.members).
  var mine = state.anomalies.filter(function (a) { return a.sensor === state.selected || (a.members && a.members.indexOf(state.selected) >= 0); });
  var live = sensor && sensor.openEpisode ? sensor.openEpisode : null;
  var a;
  // The episode it carries now, its own or its device's (a device that said it is offline), or, not among the episodes
  // listed (20 newer ones of its device), told from /api/sensors.
  if (live !== null) a = state.anomalies.filter(function (x) { return x.id === live && (x.sensor === state.selected || x.sensor === device || (x.members && x.members.indexOf(state.selected) >= 0)); })[0] ||
    (sensor.episode ? { id: live, status: 'open', sentence: sensor.episode.sentence, startTs: sensor.episode.since, kind: sensor.episode.kind } : undefined);
  if (!a) a = mine.filter(function (x) { return x.status === 'open'; })[0] || mine[0];
  box.replaceChildren();
  box.removeAttribute('data-open');
  box.removeAttribute('data-back');
  if (!a) return;
  var what = a.sentence || 'unusual readings (no explanation stored)';
  var open = a.status === 'open';
  var back = open ? backSince(a) : null;
  if (open) box.setAttribute('data-open', a.id);
  if (back !== null) box.setAttribute('data-back', String(back));
  box.appendChild(el('strong', {}, !open ? 'Last episode (' + fmtTime(a.startTs) + '): ' :
    back !== null ? 'Open, its readings back since ' + fmtTime(back) + ' (it resolves once enough readings in a row are back): ' : 'Anomalous now: '));
  box.appendChild(document.createTextNode(what));
}

/**
 * When the readings of open episode a are back, as the plotted series shows it (epoch ms): the first point after its
 * last shaded one, when that one is of a (at or after its start) and not the newest; else null (still off, or nothing
 * of it plotted: a silence, a device offline, or its readings before the range).
 */
function backSince(a) {
  var d = state.series;
  if (!d || !d.ts || !d.anomalous || a.kind === 'missing_data' || a.kind === 'device_offline') return null;
  var last = -1;
  for (var i = d.ts.length - 1; i >= 0; i--) if (d.anomalous[i]) { last = i; break; }
  if (last < 0 || last === d.ts.length - 1 || d.ts[last] < a.startTs) return null;
  for (var k = last + 1; k < d.ts.length; k++) if (d.count[k] !== null && d.count[k] !== undefined) return d.ts[k];
  return null;
}

async function mark(id, action) {
  try {
    await api('/api/anomalies/' + encodeURIComponent(id) + '/' + action, { method: 'POST', body: '{}' });
    await refresh();
  } catch (err) {
    showMessage('Could not mark ' + id + ': ' + err.message);
  }
}

/**
 * The Mark cell: the mark and the operator's note, as text nodes; a token longer than NOTE_WORD_CHARS (a URL, a
 * zigbee2mqtt name) in a span.long-token that may break anywhere, every other word kept whole (the CSS above).
 */
function noteCell(text) {
  var td = el('td', { class: 'note' });
  var plain = '';
  text.split(/(\\s+)/).forEach(function (part) {
    if (part.length <= NOTE_WORD_CHARS) { plain += part; return; }
    if (plain) td.appendChild(document.createTextNode(plain));
    plain = '';
    td.appendChild(el('span', { class: 'long-token' }, part));
  });
  if (plain) td.appendChild(document.createTextNode(plain));
  return td;
}

/**
 * The selected stream's episodes and its device's own (a device_offline is stored under the device's name), newest
 * first, at most 20 (tryout 25: the table under a sensor's plots listed other sensors' episodes first, and a sensor
 * with none of the 20 newest had its last episode unexplained). The device's are asked with ?device= (its streams'
 * and its own) and only its own kept.
 */
async function episodesOf(sensor) {
  var s = state.sensors.filter(function (x) { return x.sensor === sensor; })[0];
  var device = s === undefined ? sensor : deviceOf(s);
  var asks = [api('/api/anomalies?limit=20&sensor=' + encodeURIComponent(sensor))];
  // The device's own episodes are asked as the API serves them (?device=, every episode of the device) and kept
  // where the episode is the device's own (tryout 28 F9: '?sensor=<device>' answered 404 for a device with none).
  if (device !== sensor) asks.push(api('/api/anomalies?limit=20&device=' + encodeURIComponent(device)).then(function (r) {
    return { anomalies: r.anomalies.filter(function (a) { return a.sensor === device; }) };
  }).catch(function () { return { anomalies: [] }; }));
  var lists = await Promise.all(asks);
  var all = lists.reduce(function (acc, r) { return acc.concat(r.anomalies); }, []);
  // A field's silence told in its device's one episode is that episode's member, listed in it, not a row of its own
  // (tryout 31, finding 1: an unplugged plug listed once as the device and once more as each of its fields).
  var ids = {};
  all.forEach(function (a) { ids[a.id] = true; });
  all = all.filter(function (a) { return !a.toldIn || !ids[a.toldIn]; });
  all.sort(function (a, b) { return b.startTs - a.startTs; });
  return all.slice(0, 20);
}

/** The table's heading and its scope button: the selected sensor's episodes, or every sensor's newest. */
function renderEpisodesScope() {
  var title = document.getElementById('anomalies-title');
  var button = document.getElementById('episodes-scope');
  var own = !state.allEpisodes && state.selected !== null;
  title.textContent = own ? 'Episodes of ' + state.selected : 'Episodes of all sensors';
  button.hidden = state.selected === null;
  button.textContent = own ? 'Show all sensors' : 'Show only ' + state.selected;
  button.setAttribute('aria-pressed', String(state.allEpisodes));
}

function renderAnomalies(list) {
  state.anomalies = list;
  var tbody = document.getElementById('anomalies');
  tbody.replaceChildren();
  renderEpisodesScope();
  if (list.length === 0) {
    var row = el('tr');
    row.appendChild(el('td', { colspan: '6', class: 'muted' }, !state.allEpisodes && state.selected !== null ? 'No episode of ' + state.selected + ' recorded.' : 'No anomalies recorded.'));
    tbody.appendChild(row);
  }
  list.forEach(function (a) {
    var tr = el('tr', { class: a.sensor === state.selected ? 'selected' : '', 'data-id': a.id });
    tr.appendChild(el('td', { class: 'when' }, fmtTime(a.startTs) + ' (' + fmtDuration(a.lastedMs) + ')'));
    var who = el('td', { class: 'sensor' });
    var link = el('button', { type: 'button', title: 'show ' + a.sensor }, a.sensor);
    link.addEventListener('click', function () { choose(a.sensor); });
    who.appendChild(link);
    tr.appendChild(who);
    var what = el('td', { class: 'what' }, a.sentence || '–');
    // A device's silence episode names the fields told in it (AnomalyRecord.members), which are no rows of their own.
    if (a.members && a.members.length > 0) what.appendChild(el('span', { class: 'muted members' }, ' · its fields: ' + a.members.join(', ')));
    // A field's episode told in another field's alert (its device's fields opened together: AnomalyRecord.toldWith).
    if (a.toldWith) what.appendChild(el('span', { class: 'muted members' }, ' · alerted with ' + a.toldWith.slice(0, 8)));
    tr.appendChild(what);
    var status = el('td');
    status.appendChild(el('span', { class: 'badge ' + a.status }, a.status));
    tr.appendChild(status);
    tr.appendChild(noteCell((a.mark ? a.mark.replace('_', ' ') : '–') + (a.markNote ? ': ' + a.markNote : '')));
    var actions = el('td', { class: 'actions' });
    [['ack', 'Ack'], ['false_alarm', 'False alarm'], ['unmark', 'Unmark']].forEach(function (pair) {
      if (pair[0] === 'unmark' ? a.mark === null : a.mark === pair[0]) return;
      var b = el('button', { type: 'button', 'data-action': pair[0], 'aria-label': pair[1] + ' anomaly on ' + a.sensor + ' at ' + fmtTime(a.startTs) }, pair[1]);
      b.addEventListener('click', function () { mark(a.id, pair[0]); });
      actions.appendChild(b);
    });
    tr.appendChild(actions);
    tbody.appendChild(tr);
  });
}

function renderRanges() {
  var group = document.getElementById('ranges');
  group.replaceChildren();
  RANGES.forEach(function (r) {
    var b = el('button', { type: 'button', 'aria-pressed': String(r === state.range), 'data-range': r }, rangeLabel(r));
    b.addEventListener('click', function () { state.range = r; saveView(); refresh(); });
    group.appendChild(b);
  });
}

async function refresh() {
  clearTimeout(state.timer);
  try {
    var results = await Promise.all([api('/api/status'), api('/api/sensors'), api('/api/anomalies?limit=20')]);
    renderStatus(results[0]);
    state.openIds = {};
    results[2].anomalies.forEach(function (a) { if (a.status === 'open') state.openIds[a.sensor] = true; });
    renderSensors(results[1].sensors);
    renderAnomalies(!state.allEpisodes && state.selected !== null ? await episodesOf(state.selected) : results[2].anomalies);
    renderRanges();
    var detail = document.getElementById('detail');
    detail.hidden = state.selected === null;
    if (state.selected !== null) {
      var sensor = state.sensors.filter(function (s) { return s.sensor === state.selected; })[0];
      var d = await api('/api/sensors/' + encodeURIComponent(state.selected) + '/series?range=' + state.range);
      if (d.ts.length > 0 || d.channels.length > 0) renderSeries(d, sensor);
      else renderSeries({ stream: state.selected, channels: [], ts: [], count: [], anomalous: [] }, sensor);
      renderExplanation(sensor);
    }
    showMessage('');
    setState(state.sensors.length === 0 ? 'empty' : 'ready');
  } catch (err) {
    showMessage('Update failed: ' + err.message);
    setState('error');
  }
  state.timer = setTimeout(function () { if (!document.hidden) refresh(); else state.timer = setTimeout(refresh, REFRESH_MS); }, REFRESH_MS);
}

window.addEventListener('resize', function () {
  Object.keys(state.charts).forEach(function (k) {
    var u = state.charts[k];
    u.setSize({ width: chartWidth(u.root.parentNode), height: u.height });
  });
});
document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
document.getElementById('sensor-filter').addEventListener('input', function (e) { state.filter = e.target.value; renderSensorList(); });
document.getElementById('episodes-scope').addEventListener('click', function () { state.allEpisodes = !state.allEpisodes; refresh(); });
window.addEventListener('hashchange', function () { readView(); refresh(); });
readView();
refresh();
`;

/** The page, given the URLs of its assets. It holds no data and needs no token. */
export function pageHtml(assets: { readonly css: readonly string[]; readonly js: readonly string[] }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>anomalyd</title>
<link rel="icon" href="data:,">
${assets.css.map((href) => `<link rel="stylesheet" href="${href}">`).join('\n')}
</head>
<body data-state="loading">
<header>
  <h1>anomalyd</h1>
  <span id="daemon">Connecting to the detector…</span>
  <p id="clash" role="alert" hidden></p>
  <p id="problems" aria-live="polite"></p>
  <p id="msg" role="alert"></p>
</header>
<main>
  <nav id="sensor-nav" aria-labelledby="sensors-title">
    <h2 id="sensors-title">Sensors</h2>
    <input id="sensor-filter" type="search" placeholder="Filter: name, stale, open…" aria-label="filter sensors by name or status" autocomplete="off">
    <p id="sensor-count" class="muted"></p>
    <ul id="sensors"></ul>
  </nav>
    <section id="detail" aria-labelledby="sensor-title" hidden>
      <div class="toolbar">
        <h2 id="sensor-title"></h2>
        <div id="ranges" class="ranges" role="group" aria-label="time range"></div>
      </div>
      <p id="explanation" class="explanation" aria-live="polite"></p>
      <figure>
        <div id="readings-chart" class="chart" role="img" aria-describedby="readings-caption"></div>
        <figcaption id="readings-caption"></figcaption>
      </figure>
      <figure>
        <div id="surprise-chart" class="chart" role="img" aria-describedby="surprise-caption"></div>
        <figcaption id="surprise-caption"></figcaption>
      </figure>
    </section>
    <section id="episodes-section" aria-labelledby="anomalies-title">
      <div class="toolbar"><h2 id="anomalies-title">Episodes</h2><button type="button" id="episodes-scope" aria-pressed="false" hidden></button></div>
      <div class="table-wrap">
        <table id="episodes-table">
          <thead><tr><th scope="col" id="start-col">Start</th><th scope="col">Sensor</th><th scope="col">What happened</th><th scope="col">Status</th><th scope="col">Mark</th><th scope="col">Actions</th></tr></thead>
          <tbody id="anomalies"></tbody>
        </table>
      </div>
    </section>
</main>
${assets.js.map((src) => `<script src="${src}"></script>`).join('\n')}
</body>
</html>
`;
}
