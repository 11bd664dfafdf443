/**
 * The simple Home Assistant value_templates of MQTT discovery configs (src/pipeline/decode/value-template.ts): what
 * devices publish (Tasmota `{{value_json['AM2301']['Temperature']}}`, OpenMQTTGateway `{{ value_json.tempc | is_defined }}`,
 * ESP boards `{{ value_json.temperature | float | round(1) }}`) is read; anything else is refused with a reason, never
 * guessed at.
 */
import { describe, expect, it } from 'vitest';
import { compileValueTemplate, type TemplateOutcome, type ValueTemplate } from '../../src/pipeline/decode/value-template.js';

function compiled(source: string): ValueTemplate {
  const t = compileValueTemplate(source);
  if ('error' in t) throw new Error(`${source}: ${t.error}`);
  return t;
}

function apply(source: string, payload: string): TemplateOutcome {
  let doc: unknown = undefined;
  try {
    doc = JSON.parse(payload);
  } catch {
    doc = undefined;
  }
  return compiled(source).apply(payload, doc);
}

const text = (t: string): TemplateOutcome => ({ kind: 'text', text: t });

describe('value templates read', () => {
  const state = '{"temperature": 21.25, "humidity": 40, "AM2301": {"Temperature": 19.5}, "list": [3, 4], "flag": true, "off": null, "s": "22.5"}';

  it('value_json paths: dotted, bracketed with either quote, nested, an index', () => {
    expect(apply('{{ value_json.temperature }}', state)).toEqual(text('21.25'));
    expect(apply('{{value_json.temperature}}', state)).toEqual(text('21.25'));
    expect(apply('{{ value_json.AM2301.Temperature }}', state)).toEqual(text('19.5'));
    expect(apply("{{value_json['AM2301']['Temperature']}}", state)).toEqual(text('19.5'));
    expect(apply('{{ value_json["AM2301"].Temperature }}', state)).toEqual(text('19.5'));
    expect(apply('{{ value_json.list[1] }}', state)).toEqual(text('4'));
    expect(compiled("{{ value_json['AM2301'].Temperature }}").path).toEqual(['AM2301', 'Temperature']);
  });

  it('filters: float (with a default), int, round (digits, method), multiply, abs, is_defined', () => {
    expect(apply('{{ value_json.temperature | float }}', state)).toEqual(text('21.25'));
    expect(apply('{{ value_json.s | float }}', state)).toEqual(text('22.5'));
    expect(apply('{{ value_json.temperature | round(1) }}', state)).toEqual(text('21.3'));
    expect(apply('{{ value_json.temperature | float | round(1, "floor") }}', state)).toEqual(text('21.2'));
    expect(apply('{{ value_json.temperature | round }}', state)).toEqual(text('21'));
    expect(apply('{{ value_json.temperature | int }}', state)).toEqual(text('21'));
    expect(apply('{{ value_json.humidity | multiply(0.1) }}', state)).toEqual(text('4'));
    expect(apply('{{ value_json.temperature | is_defined }}', state)).toEqual(text('21.25'));
    expect(apply('{{ value | float }}', ' 7.5 ')).toEqual(text('7.5'));
    expect(apply('{{ value | round(1) }}', '7.25')).toEqual(text('7.3'));
    expect(apply('{{ value | abs }}', '-3')).toEqual(text('3'));
    expect(apply('{{ value | float(0) }}', 'unavailable')).toEqual(text('0'));
  });

  it('a text stays a text for the state decoder (a missing-word, a text state), a boolean is rendered as Jinja does', () => {
    expect(apply('{{ value | float }}', 'unavailable')).toEqual(text('unavailable'));
    expect(apply('{{ value }}', 'idle')).toEqual(text('idle'));
    expect(apply('{{ value_json.flag }}', state)).toEqual(text('True'));
  });

  it('a key absent or null is a missing value; value_json of a payload that is not JSON, and round of a text, are errors', () => {
    expect(apply('{{ value_json.pressure }}', state)).toEqual({ kind: 'missing' });
    expect(apply('{{ value_json.off }}', state)).toEqual({ kind: 'missing' });
    expect(apply('{{ value_json.temperature.x }}', state)).toEqual({ kind: 'missing' });
    expect(apply('{{ value_json.temperature }}', '21.5 not json').kind).toBe('error');
    expect(apply('{{ value | round(1) }}', 'idle').kind).toBe('error');
  });

  it('says whether a template changes the value (for a unit of a stream its rule reads raw)', () => {
    expect(compiled('{{ value_json.x }}').changesValue).toBe(false);
    expect(compiled('{{ value_json.x | float }}').changesValue).toBe(false);
    expect(compiled('{{ value_json.x | is_defined }}').changesValue).toBe(false);
    expect(compiled('{{ value_json.x | round(1) }}').changesValue).toBe(true);
    expect(compiled('{{ value_json.x | float(0) }}').changesValue).toBe(true);
    expect(compiled('{{ value_json.x | multiply(10) }}').changesValue).toBe(true);
  });
});

describe('value templates refused, with a reason', () => {
  for (const source of [
    '{{ value_json.x * 10 }}',
    "{{ 'ON' if value_json.x > 5 else 'OFF' }}",
    '{{ (value_json.x | float) / 10 }}',
    "{{ states('sensor.x') }}",
    '{% if value %}1{% endif %}',
    '{{ value_json.x | timestamp_local }}',
    '{{ value_json.x | round(x) }}',
    '{{ value.x }}',
    'value_json.x',
    '{{ value_json.x }} {{ value_json.y }}',
    '{{ value_jsonx.y }}',
  ]) {
    it(source, () => {
      const t = compileValueTemplate(source);
      expect('error' in t && t.error.length > 0).toBe(true);
    });
  }
});
