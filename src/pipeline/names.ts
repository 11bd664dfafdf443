/**
 * Close names, for a filter given a name that matches nothing (`anomalies list --device washer`, GET
 * /api/anomalies?device=…): the known names it is likely meant as, so a typo does not read as "healthy".
 */
import { safePart } from './route.js';

/** Levenshtein distance, capped: `cap + 1` once it is known to exceed `cap`. */
function distance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best > cap) return cap + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The words of a name: its parts between `/`, `.`, `_`, `-`, `:` and spaces, lower-cased (`shelf60/ENERGY.Power`: shelf60, energy, power). */
function words(name: string): string[] {
  return name.toLowerCase().split(/[/._\-:\s]+/).filter((w) => w.length > 0);
}

/** Whether `part`'s words are, in order, words of `whole` (`shelf60/Power` in `shelf60/ENERGY.Power`). */
function wordsIn(part: readonly string[], whole: readonly string[]): boolean {
  let i = 0;
  for (const w of whole) if (i < part.length && w === part[i]) i++;
  return part.length > 0 && i === part.length;
}

/**
 * The known names close to `given`, at most `max`, closest first and otherwise in the order of `known`:
 * 1. the same case-insensitively, or once made a safe sensor id as a Zigbee2Tasmota `Name` is (safePart: `#`,
 *    `+`, `/` and control characters become `_`, `Kitchen #2` is `Kitchen _2`);
 * 2. a name holding the given one's words in order (`shelf60/Power` for `shelf60/ENERGY.Power`: a field named
 *    without its group; tryout 25 was offered the device `shelf60` instead);
 * 3. within 2 edits;
 * 4. one containing the other (case-insensitively).
 * Pure.
 */
export function closeNames(given: string, known: readonly string[], max = 5): string[] {
  const g = given.toLowerCase();
  const safe = safePart(given).toLowerCase();
  const gw = words(given);
  const ranked: { name: string; rank: number; at: number }[] = [];
  known.forEach((name, at) => {
    const n = name.toLowerCase();
    const rank =
      n === g || n === safe ? 1 : gw.length > 1 && wordsIn(gw, words(name)) ? 2 : distance(n, g, 2) <= 2 ? 3 : n.includes(g) || g.includes(n) ? 4 : 0;
    if (rank > 0) ranked.push({ name, rank, at });
  });
  return ranked
    .sort((a, b) => a.rank - b.rank || a.at - b.at)
    .slice(0, max)
    .map((r) => r.name);
}
