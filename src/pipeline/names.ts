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

/**
 * The known names close to `given`, at most `max`, in the order of `known`: the same case-insensitively or once
 * made a safe sensor id as a Zigbee2Tasmota `Name` is (safePart: `#`, `+`, `/` and
 * control characters become `_`, `Kitchen #2` is `Kitchen _2`), one containing the other (case-insensitively), or within 2 edits. Pure.
 */
export function closeNames(given: string, known: readonly string[], max = 5): string[] {
  const g = given.toLowerCase();
  const safe = safePart(given).toLowerCase();
  const out: string[] = [];
  for (const name of known) {
    if (out.length >= max) break;
    const n = name.toLowerCase();
    if (n === g || n === safe || n.includes(g) || g.includes(n) || distance(n, g, 2) <= 2) out.push(name);
  }
  return out;
}
