import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      cb();
    },
  });
  return { stream, text: () => text };
}

describe('createLogger', () => {
  it('json: one JSON object per line, as journald and the tests read them', () => {
    const out = sink();
    createLogger('info', out.stream, 'json').child({ module: 'daemon' }).info({ anomalyId: 'a1', score: 0.9999 }, 'alert open: pump1 4.1 bar');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, module: 'daemon', anomalyId: 'a1', score: 0.9999, msg: 'alert open: pump1 4.1 bar' });
  });

  it('pretty: a line for people, the module first, the fields after the message on the same line', () => {
    const out = sink();
    const log = createLogger('info', out.stream, 'pretty');
    log.child({ module: 'daemon' }).info({ anomalyId: 'a1', sensor: 'pump1', score: 0.9999 }, 'alert open: pump1 4.1 bar, expected 2.3 ± 0.2 since 10:42 (level shift) (score 0.9999, id a1)');
    log.flush();
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d] INFO: daemon: alert open: pump1 4\.1 bar, expected 2\.3 ± 0\.2 since 10:42 \(level shift\) \(score 0\.9999, id a1\) \{"anomalyId":"a1","sensor":"pump1","score":0\.9999\}$/);
    expect(lines[0]).not.toContain('"pid"');
  });

  it('auto with a stream given is JSON (the stream is not a terminal)', () => {
    const out = sink();
    createLogger('info', out.stream, 'auto').info('hello');
    expect(JSON.parse(out.text().trim())).toMatchObject({ msg: 'hello' });
  });
});
