// Tryout 16, finding 1 (alerts wedged behind one unacknowledged publish), its cause reproduced against a real
// mosquitto 2.0 with its default max_queued_messages (1000): starts `mosquitto` on PORT, connects ROOT's
// MqttAdapter (dist) subscribed to junk/#, floods junk/# from a second process (QoS 0, 30,000 × 2 kB) and keeps
// the adapter's event loop busy (as training and scoring did) so it reads slower than the flood comes. mosquitto
// then drops every packet it would queue for the adapter, the PUBACK of the alert published meanwhile included
// (its log: "Outgoing messages are being dropped for client"). Prints how the alert's publishOnce settled: on main
// never (mqtt.js repeats a PUBLISH only on a new connection); with the PUBACK bound, a PubackOverdueError after
// KEEPALIVE s, a reconnect, and the next publish acknowledged. Timing-dependent by nature (a busy loop), so a
// script and not a test; test/e2e/outage.test.ts withholds the PUBACK deterministically through a proxy.
// usage: node scripts/puback-drop-repro.mjs ROOT PORT [KEEPALIVE=5]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const [ROOT, PORT, KEEPALIVE] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 5)];
if (!ROOT || !PORT) throw new Error('usage: node scripts/puback-drop-repro.mjs ROOT PORT [KEEPALIVE=5]');
const { MqttAdapter } = await import(join(ROOT, 'dist/adapters/mqtt.js'));
const pino = (await import(join(ROOT, 'node_modules/pino/pino.js'))).default;
const url = `mqtt://127.0.0.1:${PORT}`;
const dir = mkdtempSync(join(tmpdir(), 'puback-drop-'));
writeFileSync(join(dir, 'mosquitto.conf'), `listener ${PORT} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type notice\n`);
const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
let brokerLog = '';
broker.stderr.on('data', (d) => (brokerLog += d));
await new Promise((r) => setTimeout(r, 500));
const flood = `const m=require(${JSON.stringify(join(ROOT, 'node_modules/mqtt'))});const c=m.connect(${JSON.stringify(url)},{clientId:'flood'});` +
  `c.on('connect',()=>{const b='x'.repeat(2000);for(let i=0;i<30000;i++)c.publish('junk/'+(i%10),b,{qos:0});c.end(false,()=>process.exit(0));});`;
writeFileSync(join(dir, 'flood.cjs'), flood);
const a = new MqttAdapter({ url, username: null, password: null, ca: null, cert: null, key: null, clientId: 'slow', clean: false, qos: 0,
  keepaliveSec: KEEPALIVE, topics: ['junk/#'], statusTopic: 'anomalyd/status', logger: pino({ level: 'warn' }), now: Date.now });
await a.start();
await new Promise((r) => setTimeout(r, 300));
let read = 0;
a.messages$.subscribe(() => read++);
spawn(process.execPath, [join(dir, 'flood.cjs')], { stdio: 'inherit' });
const busy = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
await new Promise((r) => setTimeout(r, 300));
busy(1500);
const t0 = Date.now();
const first = a.publishOnce('anomalyd/alerts/x', 'alert').then(() => 'acknowledged', (e) => `${e.name}: ${e.message}`);
busy(1500);
const outcome = await Promise.race([first, new Promise((r) => setTimeout(() => r('still unacknowledged'), 3 * KEEPALIVE * 1000 + 5000))]);
console.log(`alert publish: ${outcome} (${Date.now() - t0} ms; junk read ${read})`);
if (outcome !== 'still unacknowledged') {
  const t1 = Date.now();
  console.log(`next publish: ${await a.publishOnce('anomalyd/alerts/x', 'again').then(() => 'acknowledged', (e) => e.message)} (${Date.now() - t1} ms)`);
}
console.log(`mosquitto: ${/Outgoing messages are being dropped for client slow/.test(brokerLog) ? 'dropped packets for the adapter' : 'dropped nothing for the adapter'}`);
await a.stop(1000);
broker.kill('SIGTERM');
process.exit(0);
