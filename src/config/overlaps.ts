/**
 * Topics that two mapping rules both take (presets, `ingest.rules`, the default rule), which `check-config`
 * reports as warnings: a message there is read by the first rule in match order only (src/pipeline/route.ts),
 * so the other rule's parser never sees it, or never sees it where the user may expect it to (tryout 13 #9:
 * the presets homeassistant and ha_statestream both take `homeassistant/sensor/+/state`, and esphome's
 * `+/sensor/+/state` matches it too). A rule that can never match at all is an error instead (unreachableRules).
 *
 * Only containment is reported: every message of one template is a message of the other (identical topics, a
 * wider template of a later rule). Templates that share messages only where a wildcard level of one meets a fixed
 * level of the other (zigbee2mqtt's `zigbee2mqtt/{sensor#}` and Shelly's `{sensor}/events/rpc` meet on a device
 * named `events/rpc`) are not: such a topic is a device named like another hub's level, and every pair of
 * presets would be warned about.
 */
import { MAX_INNER_LEVELS } from '../contract/ingest.js';
import { ruleList, unreachableRules, type IngestRulesConfig } from './ingest-rules.js';

/** One level of a template's shape: a fixed text, or any one level (`+`, `{sensor}`, `{field}`). */
type Level = string | null;

/** A template as fixed-length levels and, when it ends in `#` or `{sensor#}`, the fewest levels its tail takes. */
interface Shape {
  readonly levels: readonly Level[];
  /** `#`: 0 or more more levels; a last `{sensor#}`: 1 or more; null: none. */
  readonly tail: number | null;
}

/**
 * The shapes of a valid template: one, or one per depth of a `{sensor#}` before other levels (it takes 1 to
 * MAX_INNER_LEVELS levels there, as the matcher does).
 */
function shapes(template: string): Shape[] {
  let out: Array<{ levels: Level[]; tail: number | null }> = [{ levels: [], tail: null }];
  const parts = template.split('/');
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === '#' || (part === '{sensor#}' && last)) {
      const tail = part === '#' ? 0 : 1;
      for (const s of out) s.tail = tail;
    } else if (part === '{sensor#}') {
      const next: typeof out = [];
      for (const s of out) for (let d = 1; d <= MAX_INNER_LEVELS; d++) next.push({ levels: [...s.levels, ...Array<Level>(d).fill(null)], tail: null });
      out = next;
    } else {
      const level: Level = part === '+' || part === '{sensor}' || part === '{field}' ? null : part;
      for (const s of out) s.levels.push(level);
    }
  });
  return out;
}

/** Whether every topic of shape `b` is a topic of shape `a`. */
function shapeCovers(a: Shape, b: Shape): boolean {
  const n = a.levels.length;
  if (b.levels.length < n) return false;
  for (let i = 0; i < n; i++) {
    const x = a.levels[i];
    if (x !== null && b.levels[i] !== x) return false;
  }
  if (a.tail === null) return b.tail === null && b.levels.length === n;
  return b.levels.length - n + (b.tail ?? 0) >= a.tail;
}

/** Whether some topic has shape `a` and shape `b` both: the fixed levels they share agree, and the lengths meet. */
function shapesMeet(a: Shape, b: Shape): boolean {
  const n = Math.min(a.levels.length, b.levels.length);
  for (let i = 0; i < n; i++) {
    const x = a.levels[i];
    const y = b.levels[i];
    if (x !== null && y !== null && x !== y) return false;
  }
  // A topic's number of levels: exactly the levels without a tail, at least the levels and the tail's fewest with one.
  const lo = (s: Shape): number => s.levels.length + (s.tail ?? 0);
  const hi = (s: Shape): number => (s.tail === null ? s.levels.length : Infinity);
  return Math.max(lo(a), lo(b)) <= Math.min(hi(a), hi(b));
}

/**
 * Whether some topic matches both template (or MQTT filter) `a` and `b` (valid rule templates or filters: `+`,
 * `{sensor}`, `{field}`, `#`, `{sensor#}`): `sensor/#` and `sensors/{sensor}` never do, `sensors/#` and
 * `+/{sensor}` do.
 */
export function templatesMeet(a: string, b: string): boolean {
  const bs = shapes(b);
  return shapes(a).some((sa) => bs.some((sb) => shapesMeet(sa, sb)));
}

/**
 * `[setting, message]` warnings for the subscriptions of ingest.topics that no mapping rule can read a message of
 * (tryout 26, finding 5: `ingest.topics: ["sensor/#"]` with the default `sensorPattern: "sensors/{sensor}"`):
 * every message there is rejected as bad_topic at run time. A filter is read when some topic it matches is also
 * matched by a rule's topic (its templates, a preset's unit, counter-class and availability topics).
 */
export function unreadSubscriptions(ingest: IngestRulesConfig): Array<readonly [string, string]> {
  const rules = ruleList(ingest);
  const out: Array<readonly [string, string]> = [];
  ingest.topics.forEach((filter, i) => {
    const read = rules.some(({ spec }) =>
      [...spec.topics, ...(spec.counters?.classTopics ?? []), ...(spec.unitTopics ?? []), ...(spec.deviceClassTopics ?? []), ...(spec.availability?.topics ?? [])].some((t) => templatesMeet(filter, t)),
    );
    if (read) return;
    out.push([
      `ingest.topics[${i}]`,
      `no mapping rule can read a message on "${filter}": the default rule reads only topics of ingest.sensorPattern "${ingest.sensorPattern}"` +
        `${ingest.rules.length + ingest.presets.length > 0 ? ', and no rule of ingest.rules or ingest.presets meets it either' : ''}, so every message there is rejected (bad_topic). ` +
        `Subscribe to the topics the pattern reads, or change ingest.sensorPattern to the topics you subscribe to`,
    ]);
  });
  return out;
}

/**
 * Whether every topic template `b` matches, template `a` matches too (both valid rule templates). Exact for
 * `+`, `{sensor}`, `{field}`, `#` and `{sensor#}` anywhere (unlike ingest-rules.ts's covers, which does not
 * compare a `{sensor#}` before other levels).
 */
export function templateCovers(a: string, b: string): boolean {
  const as = shapes(a);
  return shapes(b).every((sb) => as.some((sa) => shapeCovers(sa, sb)));
}

/**
 * `[setting, message]` warnings for the topics two rules both take, in match order: a topic of a rule that an
 * earlier rule takes whole (the later one never reads a message there), and a topic of a rule that a later
 * rule's wider topic matches too (the earlier one reads those messages). Rules that can never match at all are
 * left to unreachableRules (an error). Empty when no two rules share a topic so.
 */
export function overlappingTopics(ingest: IngestRulesConfig): Array<readonly [string, string]> {
  const rules = ruleList(ingest);
  const unreachable = new Set(unreachableRules(ingest).map(([setting]) => setting));
  const settingOf = (origin: string): string => (origin.startsWith('ingest.rules[') ? origin : origin.startsWith('preset ') ? 'ingest.presets' : 'ingest.sensorPattern');
  const quoted = (topics: readonly string[]): string => topics.map((t) => `"${t}"`).join(', ');
  const out: Array<readonly [string, string]> = [];
  rules.forEach((rule, i) => {
    if (unreachable.has(rule.origin)) return;
    for (const t of rule.spec.topics) {
      const first = rules.slice(0, i).find((e) => e.spec.topics.some((u) => templateCovers(u, t)));
      if (first !== undefined) {
        const by = first.spec.topics.filter((u) => templateCovers(u, t));
        out.push([settingOf(rule.origin), `${rule.origin} never reads "${t}": ${first.origin}, tried first, takes every message there (${quoted(by)})`]);
        continue;
      }
      for (const later of rules.slice(i + 1)) {
        // Identical topics are told from the later rule's side, above.
        const wider = later.spec.topics.filter((u) => templateCovers(u, t) && !templateCovers(t, u));
        if (wider.length > 0) out.push([settingOf(rule.origin), `messages on "${t}" (${rule.origin}) match ${quoted(wider)} (${later.origin}) too: ${rule.origin}, tried first, reads them`]);
      }
    }
  });
  return out;
}
