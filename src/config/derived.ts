/** Values the config leaves to be derived (`null` = "the obvious one"), resolved in one place. */
import type { Config } from './schema.js';

export interface MqttConnection {
  readonly url: string;
  readonly username: string | null;
  readonly password: string | null;
  readonly clientId: string;
}

/** Addresses that mean "every interface" when binding but cannot be connected to. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

function hostForUrl(host: string): string {
  if (WILDCARD_HOSTS.has(host)) return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The daemon's MQTT client id: mqtt.clientId, else anomalyd-<hostname>. */
export function daemonClientId(config: Config, hostname: string): string {
  return config.mqtt.clientId ?? `anomalyd-${hostname}`;
}

/**
 * Where and as whom the daemon's MQTT client connects. With `mqtt.url: null` that is the embedded
 * broker, as the daemon role with `daemonLogin` (made up at each start, see docs/SECURITY.md; null
 * before the broker exists, for display only). `brokerPort` is the port the embedded broker actually
 * bound (differs from the config when broker.port is 0).
 */
export function resolveMqttConnection(
  config: Config,
  hostname: string,
  brokerPort: number = config.broker.port,
  daemonLogin: { readonly username: string; readonly password: string } | null = null,
): MqttConnection {
  const { mqtt, broker } = config;
  const clientId = daemonClientId(config, hostname);
  if (mqtt.url !== null) return { url: mqtt.url, username: mqtt.username, password: mqtt.password, clientId };
  return {
    url: `mqtt://${hostForUrl(broker.host)}:${brokerPort}`,
    username: daemonLogin?.username ?? null,
    password: daemonLogin?.password ?? null,
    clientId,
  };
}
