/**
 * The set-up of the hub e2e tests (hub-payloads, hub-topics, hub-units, message-accounting, statestream-broker): the
 * real daemon (dist/main.js) with its embedded broker and HTTP API on free loopback ports, reading the hubs'
 * presets, with Home Assistant discovery and learning off and every event committed at once; and an mqtt.js client
 * on that broker, publishing as the hubs do.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { DaemonProcess } from './daemon.js';
import { freePorts } from './net.js';

/** What a hub test's daemon reads. */
export interface HubDaemonOptions {
  /** ingest.presets */
  readonly presets: readonly string[];
  /** ingest.timezone */
  readonly timezone: string;
  /** The client's id (a test's own, with the pid). */
  readonly clientId: string;
  /** Further top-level config sections (explain, model, …), added as given. */
  readonly extra?: Record<string, unknown>;
}

/** A started hub daemon, its broker's client and port, and its HTTP API's base URL. */
export interface HubDaemon {
  readonly daemon: DaemonProcess;
  readonly client: MqttClient;
  /** The embedded broker's loopback port: written into the daemon's config, so a restart of `daemon` keeps it. */
  readonly brokerPort: number;
  /** The HTTP API's base URL, `http://127.0.0.1:<port>` (the port kept across a restart too). */
  readonly http: string;
}

/**
 * Starts the daemon on two ports from freePorts (taken, released, then bound by the daemon: another process
 * could take one in between, a race this accepts) and connects the client.
 * @throws Error when the daemon does not start or the client cannot connect (the test's beforeAll fails)
 */
export async function startHubDaemon(o: HubDaemonOptions): Promise<HubDaemon> {
  const [brokerPort, httpPort] = await freePorts(2);
  const daemon = new DaemonProcess({
    broker: { port: brokerPort },
    http: { port: httpPort },
    ingest: { presets: [...o.presets], timezone: o.timezone },
    homeassistant: { discovery: 'off' },
    learning: { enabled: false },
    store: { commitIntervalMs: 0 },
    ...o.extra,
  });
  await daemon.start();
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: o.clientId });
  return { daemon, client, brokerPort, http: `http://127.0.0.1:${httpPort}` };
}

/** Ends the client and kills the daemon (either may be missing when the start failed). */
export async function stopHubDaemon(h: { readonly daemon?: DaemonProcess; readonly client?: MqttClient }): Promise<void> {
  await h.client?.endAsync(true);
  await h.daemon?.stop('SIGKILL');
}
