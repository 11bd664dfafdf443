/**
 * Who may do what, from the config: the embedded broker's roles (daemon, operator, sensor), the daemon's
 * own login to it, and which operators' MQTT commands the daemon accepts. docs/SECURITY.md describes the
 * model; `src/adapters/broker-roles.ts` enforces it on the embedded broker.
 */
import { randomBytes } from 'node:crypto';
import type { BrokerLogin, BrokerRolesOptions, HubGrant } from '../adapters/broker-roles.js';
import { daemonClientId } from '../config/derived.js';
import { DAEMON_BROKER_USERNAME } from '../config/exposure.js';
import { PRESETS, PRESET_NAMES } from '../config/presets.js';
import type { Config } from '../config/schema.js';
import { birthTopicOf, nodeIdOf } from '../adapters/ha-discovery.js';
import { discoveryEnabled, ingestFilters } from '../pipeline/ingest-options.js';

/**
 * The daemon's login to the embedded broker: a fixed, reserved username and a password made up now
 * (192 random bits), known only to this process, so no config file or environment holds it.
 */
export function newDaemonLogin(): BrokerLogin {
  return { username: DAEMON_BROKER_USERNAME, password: randomBytes(24).toString('hex') };
}

/** The embedded broker's roles for this config; `daemon` is the login from newDaemonLogin(). */
export function brokerRolesOf(config: Config, daemon: BrokerLogin, hostname: string): BrokerRolesOptions {
  const { broker } = config;
  const login = (username: string | null, password: string | null): BrokerLogin | null =>
    username !== null && password !== null ? { username, password } : null;
  return {
    daemon: { ...daemon, clientId: daemonClientId(config, hostname) },
    sensor: login(broker.username, broker.password),
    operator: login(broker.operator.username, broker.operator.password),
    sensorTopics: ingestFilters(config),
    prefix: config.mqtt.topicPrefix,
    // The daemon's own Home Assistant discovery configs: nobody else may publish (or delete) them.
    daemonOnly: [`${config.homeassistant.prefix}/+/${nodeIdOf(config, hostname)}/#`],
    hubs: [...hubGrantsOf(config), ...homeAssistantGrant(config)],
  };
}

/**
 * Home Assistant itself as a client of the embedded broker (the sensor login, or anonymous where sensors are):
 * with discovery on it may publish its birth and last will (`<homeassistant.prefix>/status`), which makes the
 * daemon publish its discovery configs again (HaDiscovery.homeAssistantStatus). Nothing else: it reads.
 */
export function homeAssistantGrant(config: Config): HubGrant[] {
  return discoveryEnabled(config) ? [{ hub: 'Home Assistant', publish: [birthTopicOf(config)], commands: [] }] : [];
}

/**
 * What the hubs of the enabled presets may publish besides ingest.topics: each preset's hub topics, and
 * Home Assistant discovery configs (`<homeassistant.prefix>/<component>/[<node>/]<object>/config`) for a
 * hub that announces its devices; never its commands. Presets without a hub of their own grant nothing.
 */
export function hubGrantsOf(config: Config): HubGrant[] {
  const discovery = [`${config.homeassistant.prefix}/+/+/config`, `${config.homeassistant.prefix}/+/+/+/config`];
  return PRESET_NAMES.filter((name) => config.ingest.presets.includes(name))
    .map((name) => ({ name, hub: PRESETS[name].hub }))
    .filter(({ hub }) => hub.publish.length > 0 || hub.discovery)
    .map(({ name, hub }) => ({ hub: name, publish: [...hub.publish, ...(hub.discovery ? discovery : [])], ...(hub.except !== undefined ? { except: hub.except } : {}), commands: hub.commands }));
}

/**
 * MQTT usernames whose commands the daemon applies: the embedded broker's operator login, or with an
 * external broker `mqtt.operators` (whose ACL must keep each to its own topic level). Empty = the daemon
 * does not subscribe to commands at all.
 */
export function commandOperators(config: Config): ReadonlySet<string> {
  if (config.mqtt.url !== null) return new Set(config.mqtt.operators);
  const op = config.broker.operator.username;
  return new Set(config.broker.enabled && op !== null ? [op] : []);
}
