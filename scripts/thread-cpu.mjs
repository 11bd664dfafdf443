/** CPU ms of each thread of this process (Linux /proc: utime + stime, clock ticks of 10 ms), by thread id. Shared by the measurement scripts. */
import { readdirSync, readFileSync } from 'node:fs';

export function threadCpu() {
  const out = new Map();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(Number(t), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      /* a thread that ended */
    }
  }
  return out;
}
