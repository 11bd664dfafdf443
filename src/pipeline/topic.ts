/**
 * Sensor ids from MQTT topics, by an MQTT-style template such as `sensors/{sensor}`:
 *   `{sensor}` captures exactly one level (the sensor id), `{field}` (optional, in mapping rules) captures
 *   one level that names the stream within the sensor (ESPHome's `<node>/sensor/<name>/state`), `+`
 *   matches any one level, `#` (last level only) matches the rest, including nothing; other levels match
 *   literally.
 */

const SENSOR = '{sensor}';
const FIELD = '{field}';
/** Sensor ids end up in SQLite rows and alert topics: keep them to something sane. */
const MAX_SENSOR_LENGTH = 128;

type Level =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'sensor' }
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

/** The subscription filter that receives every topic the pattern can match (`sensors/{sensor}` -> `sensors/+`). */
export function subscriptionFilter(pattern: string): string {
  return parsePattern(pattern, false, true)
    .map((l) => (l.kind === 'literal' ? l.text : l.kind === 'rest' ? '#' : '+'))
    .join('/');
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
    } else if (part === FIELD && fieldAllowed) {
      fields++;
      levels.push({ kind: 'field' });
    } else if (part === '+') {
      levels.push({ kind: 'any' });
    } else if (part === '#') {
      if (i !== parts.length - 1) throw problem("'#' may only be the last level");
      levels.push({ kind: 'rest' });
    } else if (part.includes('{') || part.includes('}')) {
      throw problem(`level ${JSON.stringify(part)}: '{sensor}' must be a whole level and is the only placeholder`);
    } else if (part.includes('+') || part.includes('#')) {
      throw problem(`level ${JSON.stringify(part)}: '+' and '#' must be whole levels`);
    } else {
      levels.push({ kind: 'literal', text: part });
    }
  });
  if (sensorRequired ? sensors !== 1 : sensors > 1) throw problem(`it must contain ${sensorRequired ? 'exactly' : 'at most'} one '{sensor}' level (found ${sensors})`);
  if (fields > 1) throw problem(`it may contain at most one '{field}' level (found ${fields})`);
  return levels;
}

function matchLevels(levels: readonly Level[], topic: string): TopicCapture | null {
  // MQTT: wildcards in the first level never match `$` topics such as $SYS/...
  if (topic.charCodeAt(0) === 0x24 && levels[0].kind !== 'literal') return null;
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
    }
    pos = end + 1;
  }
  // Every level consumed: the topic must end exactly here (pos is one past its end).
  return pos === topic.length + 1 ? { sensor, field } : null;
}
