import mqtt from 'mqtt';
const c = await mqtt.connectAsync('mqtt://127.0.0.1:18883');
const s = async () => (await (await fetch('http://127.0.0.1:18081/api/status')).json()).counters;
console.log(await s());
for (const [i, p] of [['deep4000', '['.repeat(4000) + ']'.repeat(4000)], ['big', Buffer.alloc(1_000_000, 0x37)], ['deep100k', '['.repeat(100000)], ['num', '1e400']].entries()) {
  const t = Date.now();
  await c.publishAsync('sensors/x', p[1], { qos: 1 });
  console.log(p[0], Date.now() - t, 'ms', await s());
}
await c.endAsync();
