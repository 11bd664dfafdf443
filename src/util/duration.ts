/**
 * A duration for people: the one rule of every sentence (`unchanged for 2 min`, `after 2 min`), the CLI
 * (`anomalies list`'s LASTED, `status`'s uptime) and the dashboard, whose script embeds this function's own source
 * (src/http/page.ts), so all of them write one episode's length alike (tryout 23, finding 7: the dashboard's `(119 s)`
 * beside `(4 min)`, the CLI's `1m59s` and the sentence's `after 2 min` for one episode).
 *
 * `ms`: milliseconds (negative counts as 0). Below 90 s in seconds (`40 s`), below 90 min in minutes (`25 min`, `2 min`
 * for 119 s), below 48 h in hours with at most one decimal (`3 h`, `1.6 h`), then in days (`2.5 d`); each rounded to
 * the nearest. Self-contained (no import, no helper): the dashboard runs its source as it is.
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 90) return String(Math.round(s)) + ' s';
  if (s < 5400) return String(Math.round(s / 60)) + ' min';
  const hours = s < 172800;
  return String(Math.round((hours ? s / 3600 : s / 86400) * 10) / 10) + (hours ? ' h' : ' d');
}
