/**
 * Child-process entry for the benchmark's MQTT load: a publisher and a do-nothing subscriber (the
 * transport's limit). They run as separate processes so that neither steals the daemon's event loop.
 * Talks to the parent over the IPC channel of child_process.fork; argv[2] is a JSON ChildConfig.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { burstPayload, completesWindow, singlePayload, sensorTopic } from './payload.js';
import { epochMs } from './stats.js';

export type ChildConfig =
  | { readonly role: 'publisher'; readonly url: string; readonly clientId: string }
  | { readonly role: 'subscriber'; readonly url: string; readonly clientId: string; readonly filter: string; readonly qos: 0 | 1 };

export interface PublishPlan {
  readonly sensors: number;
  /** First reading index (per sensor) of this plan; indices continue across plans. */
  readonly firstIndex: number;
  readonly readingsPerSensor: number;
  /** Readings per message: 1 = `{"ts","value"}`, more = a `values` burst. */
  readonly perMessage: number;
  /** Messages per second over all sensors; 0 = as fast as the socket takes them. */
  readonly rate: number;
  readonly qos: 0 | 1;
  readonly t0: number;
  readonly hop: number;
}

export interface PublishResult {
  readonly messages: number;
  readonly readings: number;
  readonly firstAt: number;
  readonly lastAt: number;
  /** Publish time of every window-completing reading, in publish order (single-reading plans only). */
  readonly completingAt: number[];
}

export interface SubscriberReport {
  readonly messages: number;
  readonly firstAt: number;
  readonly lastAt: number;
  /** Receive time of every window-completing reading since the last arm, in arrival order. */
  readonly completingAt: number[];
}

export type ParentMessage =
  | { readonly cmd: 'publish'; readonly plan: PublishPlan }
  | { readonly cmd: 'arm'; readonly firstIndex: number; readonly hop: number; readonly perMessage: number }
  | { readonly cmd: 'report' }
  | { readonly cmd: 'exit' };

export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'published'; readonly result: PublishResult }
  | { readonly type: 'report'; readonly report: SubscriberReport }
  | { readonly type: 'error'; readonly message: string };

const CHUNK = 500;
/**
 * Unacknowledged QoS 1 publishes allowed at once. A fleet of sensors never has more in flight than a
 * few per sensor, and mqtt.js has only 65,535 packet ids: without a bound a fast publisher stalls.
 */
const MAX_QOS1_IN_FLIGHT = 1000;

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

function connect(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0, keepalive: 60 });
  return new Promise((resolve, reject) => {
    client.once('connect', () => {
      // As in the daemon's adapter: Nagle would add tens of ms to every small message.
      const stream: unknown = client.stream;
      if (stream && typeof (stream as { setNoDelay?: unknown }).setNoDelay === 'function') {
        (stream as { setNoDelay: (on: boolean) => void }).setNoDelay(true);
      }
      resolve(client);
    });
    client.once('error', reject);
  });
}

function publishOne(client: MqttClient, topic: string, payload: string, qos: 0 | 1): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve())));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Round-robin over sensors, message m of every sensor before message m + 1 of any. At a given rate
 * the schedule is kept per millisecond; at full speed each chunk waits until the socket took it, so
 * the publisher never buffers more than a chunk.
 */
async function publish(client: MqttClient, plan: PublishPlan): Promise<PublishResult> {
  const { sensors, firstIndex, readingsPerSensor, perMessage, rate, qos, t0, hop } = plan;
  const topics = Array.from({ length: sensors }, (_, i) => sensorTopic(i));
  const messagesPerSensor = Math.ceil(readingsPerSensor / perMessage);
  const total = messagesPerSensor * sensors;
  const completingAt: number[] = [];
  let sent = 0;
  let readings = 0;
  const firstAt = epochMs();
  let pending: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let acked: () => void = () => undefined;
  // A holder, not a `let`: TypeScript cannot see the callback assign it and would narrow it to null.
  const failure: { err: Error | null } = { err: null };
  while (sent < total) {
    const due = rate > 0 ? Math.min(total, Math.floor(((epochMs() - firstAt) * rate) / 1000) + 1) : Math.min(total, sent + CHUNK);
    if (due <= sent) {
      await sleep(1);
      continue;
    }
    for (; sent < due; sent++) {
      const m = Math.floor(sent / sensors);
      const s = sent % sensors;
      const k = firstIndex + m * perMessage;
      const n = Math.min(perMessage, firstIndex + readingsPerSensor - k);
      const payload = perMessage === 1 ? singlePayload(t0, s, k) : burstPayload(t0, s, k, n);
      if (perMessage === 1 && completesWindow(k, hop)) completingAt.push(epochMs());
      if (qos === 1) {
        while (inFlight >= MAX_QOS1_IN_FLIGHT) await new Promise<void>((r) => (acked = r));
        inFlight++;
        publishOne(client, topics[s], payload, 1).then(
          () => {
            inFlight--;
            acked();
          },
          (err: unknown) => {
            failure.err ??= err instanceof Error ? err : new Error(String(err));
            inFlight--;
            acked();
          },
        );
      } else {
        pending = publishOne(client, topics[s], payload, 0);
      }
      readings += n;
    }
    if (rate === 0) await pending;
  }
  const lastAt = epochMs();
  while (inFlight > 0) await new Promise<void>((r) => (acked = r));
  if (failure.err !== null) throw failure.err;
  return { messages: total, readings, firstAt, lastAt, completingAt };
}

async function runPublisher(cfg: Extract<ChildConfig, { role: 'publisher' }>): Promise<void> {
  const client = await connect(cfg.url, cfg.clientId);
  process.on('message', (msg: ParentMessage) => {
    switch (msg.cmd) {
      case 'publish':
        publish(client, msg.plan).then(
          (result) => send({ type: 'published', result }),
          (err: unknown) => send({ type: 'error', message: String(err) }),
        );
        return;
      case 'exit':
        client.end(true, {}, () => process.exit(0));
        return;
      case 'arm':
      case 'report':
        send({ type: 'error', message: `publisher does not understand ${msg.cmd}` });
        return;
    }
  });
  send({ type: 'ready' });
}

async function runSubscriber(cfg: Extract<ChildConfig, { role: 'subscriber' }>): Promise<void> {
  const client = await connect(cfg.url, cfg.clientId);
  let messages = 0;
  let firstAt = NaN;
  let lastAt = NaN;
  let hop = 0;
  let firstIndex = 0;
  let perMessage = 1;
  let completingAt: number[] = [];
  const seen = new Map<string, number>();
  client.on('message', (topic) => {
    const now = epochMs();
    if (messages === 0) firstAt = now;
    lastAt = now;
    messages++;
    if (hop > 0 && perMessage === 1) {
      const i = seen.get(topic) ?? 0;
      seen.set(topic, i + 1);
      if (completesWindow(firstIndex + i, hop)) completingAt.push(now);
    }
  });
  await new Promise<void>((resolve, reject) => client.subscribe(cfg.filter, { qos: cfg.qos }, (err) => (err ? reject(err) : resolve())));
  process.on('message', (msg: ParentMessage) => {
    switch (msg.cmd) {
      case 'arm':
        messages = 0;
        firstAt = NaN;
        lastAt = NaN;
        hop = msg.hop;
        firstIndex = msg.firstIndex;
        perMessage = msg.perMessage;
        completingAt = [];
        seen.clear();
        send({ type: 'ready' });
        return;
      case 'report':
        send({ type: 'report', report: { messages, firstAt, lastAt, completingAt } });
        return;
      case 'exit':
        client.end(true, {}, () => process.exit(0));
        return;
      case 'publish':
        send({ type: 'error', message: 'subscriber does not publish' });
        return;
    }
  });
  send({ type: 'ready' });
}

function main(): void {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  process.on('disconnect', () => process.exit(0));
  const run = cfg.role === 'publisher' ? runPublisher(cfg) : runSubscriber(cfg);
  run.catch((err: unknown) => {
    send({ type: 'error', message: String(err) });
    process.exitCode = 1;
  });
}

main();
