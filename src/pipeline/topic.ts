/**
 * Sensor ids from MQTT topics, by an MQTT-style template such as `sensors/{sensor}`:
 *   `{sensor}` captures exactly one level (the sensor id); `{sensor#}` (mapping rules) captures one or more
 *   levels, kept with their `/` (zigbee2mqtt's friendly name `kitchen/floor_light`): last, it takes the
 *   whole rest of the topic; before other levels, the levels after it are matched from the topic's end and
 *   it takes 1 to MAX_INNER_LEVELS levels (ESPHome's `<topic_prefix>/sensor/<name>/state` with a prefix of
 *   several levels). `{field}` (optional, in mapping rules) captures one level that names the stream within
 *   the sensor (ESPHome's `<node>/sensor/<name>/state`), `+` matches any one level, `#` (last level only)
 *   matches the rest, including nothing; other levels match literally.
 */
import { MAX_INNER_LEVELS } from '../contract/ingest.js';

const SENSOR = '{sensor}';
const FIELD = '{field}';
const SENSOR_LEVELS = '{sensor#}';
/** Most levels a `{sensor#}` that is not the last level takes (src/contract/ingest.ts). */
export { MAX_INNER_LEVELS };
/** Sensor ids end up in SQLite rows and alert topics: keep them to something sane. */
const MAX_SENSOR_LENGTH = 128;

type Level =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'sensor' }
  | { readonly kind: 'sensors' }
  | { readonly kind: 'field' }
  | { readonly kind: 'any' }
  | { readonly kind: 'rest' };

export type SensorOf = (topic: string) => string | null;

/** Compiles a pattern into a matcher; throws a descriptive Error for an invalid pattern. */
export function compileSensorPattern(pattern: string): SensorOf {
  const levels = parsePattern(pattern);
  // The matcher walks the topic with indexOf instead of split('/') so that matching a topic
  // allocates nothing but the captured sensor id: it runs once per message.
  return (topic: string): string | null => matchLevels(levels, topic)?.sensor ?? null;
}

/** What a topic template captured: the sensor id (null when the template has no `{sensor}`) and the `{field}` level. */
export interface TopicCapture {
  readonly sensor: string | null;
  readonly field: string | null;
}

/**
 * A mapping rule's topic template: like compileSensorPattern, plus an optional `{field}` level, and
 * `{sensor}` may be left out when the sensor id comes from the payload (`sensorRequired: false`).
 * Throws a descriptive Error for an invalid template.
 */
export function compileTopicTemplate(pattern: string, sensorRequired: boolean): (topic: string) => TopicCapture | null {
  const levels = parsePattern(pattern, sensorRequired, true);
  return (topic) => matchLevels(levels, topic);
}

/**
 * The subscription filters that receive every topic the pattern can match (`sensors/{sensor}` ->
 * `sensors/+`; `zigbee2mqtt/{sensor#}` -> `zigbee2mqtt/#`; a `{sensor#}` before other levels -> one filter
 * per depth, 1 to MAX_INNER_LEVELS `+` levels). Throws like compileTopicTemplate.
 */
export function subscriptionFilters(pattern: string): string[] {
  const levels = parsePattern(pattern, false, true);
  const at = levels.findIndex((l) => l.kind === 'sensors');
  const text = (l: Level): string => (l.kind === 'literal' ? l.text : l.kind === 'rest' ? '#' : '+');
  if (at === -1) return [levels.map(text).join('/')];
  const before = levels.slice(0, at).map(text);
  if (at === levels.length - 1) return [[...before, '#'].join('/')];
  const after = levels.slice(at + 1).map(text);
  const out: string[] = [];
  for (let depth = 1; depth <= MAX_INNER_LEVELS; depth++) out.push([...before, ...Array<string>(depth).fill('+'), ...after].join('/'));
  return out;
}

function parsePattern(pattern: string, sensorRequired = true, fieldAllowed = false): Level[] {
  const problem = (why: string): Error => new Error(`invalid sensor topic pattern ${JSON.stringify(pattern)}: ${why}`);
  if (pattern.length === 0) throw problem('it is empty');
  const parts = pattern.split('/');
  const levels: Level[] = [];
  let sensors = 0;
  let fields = 0;
  parts.forEach((part, i) => {
    if (part === SENSOR) {
      sensors++;
      levels.push({ kind: 'sensor' });
    } else if (part === SENSOR_LEVELS && fieldAllowed) {
      sensors++;
      levels.push({ kind: 'sensors' });
    } else if (part === FIELD && fieldAllowed) {
      fields++;
      levels.push({ kind: 'field' });
    } else if (part === '+') {
      levels.push({ kind: 'any' });
    } else if (part === '#') {
      if (i !== parts.length - 1) throw problem("'#' may only be the last level");
      levels.push({ kind: 'rest' });
    } else if (part.includes('{') || part.includes('}')) {
      throw problem(`level ${JSON.stringify(part)}: '{sensor}'${fieldAllowed ? ", '{sensor#}' and '{field}'" : ''} must be whole levels and are the only placeholders`);
    } else if (part.includes('+') || part.includes('#')) {
      throw problem(`level ${JSON.stringify(part)}: '+' and '#' must be whole levels`);
    } else {
      levels.push({ kind: 'literal', text: part });
    }
  });
  if (sensorRequired ? sensors !== 1 : sensors > 1) throw problem(`it must contain ${sensorRequired ? 'exactly' : 'at most'} one '{sensor}' level (found ${sensors})`);
  if (fields > 1) throw problem(`it may contain at most one '{field}' level (found ${fields})`);
  if (levels.some((l) => l.kind === 'sensors') && levels.some((l) => l.kind === 'rest')) throw problem("'{sensor#}' takes the rest of the topic itself: drop the '#' level");
  return levels;
}

function matchLevels(levels: readonly Level[], topic: string): TopicCapture | null {
  // MQTT: wildcards in the first level never match `$` topics such as $SYS/...
  if (topic.charCodeAt(0) === 0x24 && levels[0].kind !== 'literal') return null;
  const at = levels.findIndex((l) => l.kind === 'sensors');
  if (at !== -1) return matchSensorLevels(levels, at, topic);
  let sensor: string | null = null;
  let field: string | null = null;
  let pos = 0;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.kind === 'rest') return { sensor, field };
    if (pos > topic.length) return null; // the topic ran out of levels
    const slash = topic.indexOf('/', pos);
    const end = slash === -1 ? topic.length : slash;
    switch (level.kind) {
      case 'literal':
        if (end - pos !== level.text.length || !topic.startsWith(level.text, pos)) return null;
        break;
      case 'sensor':
        if (end === pos || end - pos > MAX_SENSOR_LENGTH) return null;
        sensor = topic.slice(pos, end);
        break;
      case 'field':
        if (end === pos || end - pos > MAX_SENSOR_LENGTH) return null;
        field = topic.slice(pos, end);
        break;
      case 'any':
        break;
      case 'sensors':
        return null; // matched by matchSensorLevels
    }
    pos = end + 1;
  }
  // Every level consumed: the topic must end exactly here (pos is one past its end).
  return pos === topic.length + 1 ? { sensor, field } : null;
}

/**
 * A template with `{sensor#}` at `at`: the levels before it from the topic's start, those after it from
 * its end, and the sensor is what lies between (one or more non-empty levels, at most MAX_SENSOR_LENGTH
 * characters; at most MAX_INNER_LEVELS levels unless it is the template's last level).
 */
function matchSensorLevels(levels: readonly Level[], at: number, topic: string): TopicCapture | null {
  const parts = topic.split('/');
  const after = levels.length - at - 1;
  const depth = parts.length - at - after;
  if (depth < 1 || (after > 0 && depth > MAX_INNER_LEVELS)) return null;
  let field: string | null = null;
  for (let i = 0; i < levels.length; i++) {
    if (i === at) continue;
    const level = levels[i];
    const part = parts[i < at ? i : i + depth - 1];
    switch (level.kind) {
      case 'literal':
        if (part !== level.text) return null;
        break;
      case 'field':
        if (part === '' || part.length > MAX_SENSOR_LENGTH) return null;
        field = part;
        break;
      case 'any':
        break;
      case 'sensor':
      case 'sensors':
      case 'rest':
        return null; // excluded by parsePattern
    }
  }
  const inner = parts.slice(at, at + depth);
  if (inner.some((p) => p === '')) return null;
  const sensor = inner.join('/');
  return sensor.length > MAX_SENSOR_LENGTH ? null : { sensor, field };
}
