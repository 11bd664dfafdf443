/**
 * The ingest stage's options from a Config: the compiled mapping rules (ingest.rules, then presets, then the
 * default rule), channel groups, limits and the device time zone, plus the MQTT filters to subscribe to.
 * The daemon, and whatever composes the detector, build the parser from here so they read topics alike.
 */
import type { Config } from '../config/schema.js';
import { groupSpec, ruleList, subscriptionFilters } from '../config/ingest-rules.js';
import { systemTimeZone } from './decode/time.js';
import type { DiscoveryEntitiesOptions, ParseOptions } from './parse.js';
import { PRESETS, type PresetName } from '../config/presets.js';
import { compileGroup, compileRule, safePart } from './route.js';
import { subscriptionFilters as templateFilters } from './topic.js';

/** A message's limits and the window, from the config: the same for the daemon's parser and a replay's. */
function messageLimitsOf(config: Config): Pick<ParseOptions, 'maxPayloadBytes' | 'maxFutureMs' | 'outOfOrderToleranceMs' | 'maxReadingsPerMessage' | 'longBurst' | 'window'> {
  return {
    maxPayloadBytes: config.ingest.maxPayloadBytes,
    maxFutureMs: config.ingest.maxFutureMs,
    outOfOrderToleranceMs: config.ingest.outOfOrderToleranceMs,
    maxReadingsPerMessage: config.ingest.maxReadingsPerMessage,
    longBurst: config.ingest.longBurst,
    window: config.window.length,
  };
}

/** ParseOptions for the daemon's parser. */
export function parseOptionsOf(
  config: Config,
  extra: Pick<ParseOptions, 'onClockSkew' | 'onUnsetClock' | 'onClockLag' | 'onUnitChange' | 'onDecimalComma' | 'onAvailability' | 'onDisplace' | 'fastPath'> = {},
  entityHooks: Pick<DiscoveryEntitiesOptions, 'onStateTopic' | 'onEntityProblem' | 'onEntityConfig' | 'onEntityAvailability'> = {},
): ParseOptions {
  const zone = config.ingest.timezone ?? systemTimeZone();
  const rules = ruleList(config.ingest).map((r) => ({ origin: r.origin, compiled: compileRule(r.spec, zone) }));
  const entityRule = discoveryEntitiesOn(config) ? (rules.find((r) => r.origin === 'preset homeassistant')?.compiled ?? null) : null;
  return {
    rules: rules.map((r) => r.compiled),
    ...(entityRule === null ? {} : { discoveryEntities: { rule: entityRule, ownPrefix: config.mqtt.topicPrefix, ...entityHooks } }),
    groups: config.ingest.groups.map((g) => compileGroup(groupSpec(g))),
    ...messageLimitsOf(config),
    maxSensors: config.ingest.maxStreams,
    maxStreamsPerSensor: config.ingest.maxStreamsPerSensor,
    discoveryPrefix: discoveryUnitsPrefix(config),
    ...extra,
  };
}

/**
 * The Home Assistant discovery prefix whose sensor configs state units (ParseOptions.discoveryPrefix): homeassistant.prefix
 * when an enabled preset reads them (Preset.discoveryUnits: esphome), else null.
 */
export function discoveryUnitsPrefix(config: Config): string | null {
  return config.ingest.presets.some((p) => PRESETS[p as PresetName].discoveryUnits === true) || discoveryEntitiesOn(config) ? config.homeassistant.prefix : null;
}

/** Whether discovery configs whose state topic no rule reads are entities of their own (Preset.discoveryEntities: homeassistant). */
export function discoveryEntitiesOn(config: Config): boolean {
  return config.ingest.presets.some((p) => PRESETS[p as PresetName].discoveryEntities === true);
}

/**
 * ParseOptions for a replay of recorded rows (`anomalyd replay`, `npm run evaluate`, the scripts that drive the
 * Detector directly): the replay makes the streams itself, so a row's topic IS its stream and its payload one
 * reading of that stream's channels (objects: 'channels'); the limits are the config's, as in the daemon.
 * A recording's times are its own: a row is never "in the future" of its own arrival (the caller passes the
 * row's time as its arrival).
 */
export function replayParseOptionsOf(config: Config): ParseOptions {
  return {
    sensorOf: (topic) => topic,
    objects: 'channels',
    ...messageLimitsOf(config),
  };
}

/** The MQTT filters the daemon subscribes to for readings: ingest.topics and every rule's and preset's topics. */
export function ingestFilters(config: Config): string[] {
  const filters = subscriptionFilters(config.ingest, templateFilters);
  // The sensors' discovery configs whose units are read (`<prefix>/sensor/[<node>/]<object>/config`), and the
  // binary_sensors' whose device class is read (an ESPHome leak sensor's `dev_cla: moisture`: an alarm field).
  const prefix = discoveryUnitsPrefix(config);
  // With discovered entities, numbers' too (their state topics are subscribed at run time: the daemon).
  const components = discoveryEntitiesOn(config) ? ['sensor', 'binary_sensor', 'number'] : ['sensor', 'binary_sensor'];
  if (prefix !== null) for (const c of components) for (const f of [`${prefix}/${c}/+/config`, `${prefix}/${c}/+/+/config`]) if (!filters.includes(f)) filters.push(f);
  return filters;
}

/**
 * The model a channel group's stream (`<sensor>/<group>`) must be scored with, by file stem in model.dir,
 * or null for any other stream (the shared or learnt model). For the model registry: a group's stream
 * has that many channels and must never share a batch with one-channel streams.
 */
export function groupModelOf(config: Config): (stream: string) => string | null {
  const groups = config.ingest.groups.map((g) => ({ suffix: `/${safePart(g.name)}`, model: g.model ?? config.model.name ?? config.model.cell, match: compileGroup(groupSpec(g)) }));
  return (stream) => {
    for (const g of groups) {
      if (stream.endsWith(g.suffix) && g.match.matches(stream.slice(0, -g.suffix.length))) return g.model;
    }
    return null;
  };
}

/** Whether Home Assistant discovery runs: `on`, or `auto` with a preset of a Home Assistant ecosystem. */
export function discoveryEnabled(config: Config): boolean {
  const d = config.homeassistant.discovery;
  if (d !== 'auto') return d === 'on';
  return config.ingest.presets.some((p) => PRESETS[p as PresetName].homeAssistant);
}
