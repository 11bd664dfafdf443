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
