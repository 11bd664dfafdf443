// How many of Boxcar.trimmedMean(c, 2)'s calls walk the held values, in detector-hash's workload (100 streams x 800
// readings, `nohash`): a build that keeps the extremes between pushes (Boxcar.kept) walks only where they were lost.
//   node scripts/trim-walks.mjs ROOT      (ROOT: a built checkout; an older build counts every call as a walk)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = process.argv[2];
if (root === undefined) {
  console.error('usage: node scripts/trim-walks.mjs ROOT');
  process.exit(2);
}
const at = (p) => pathToFileURL(resolve(root, p)).href;
const { Boxcar } = await import(at('dist/pipeline/boxcar.js'));
let calls = 0;
let walks = 0;
const walk2 = Boxcar.prototype.trimmedMean2;
Boxcar.prototype.trimmedMean2 = function (c) {
  calls++;
  if (!(this.kept && this.kept[c] === 1)) walks++;
  return walk2.call(this, c);
};
process.argv = [process.argv[0], resolve(root, 'scripts/detector-hash.mjs'), root, '100', '800', 'nohash'];
process.on('exit', () => console.log(JSON.stringify({ root, trimmedMean2Calls: calls, walks })));
await import(at('scripts/detector-hash.mjs'));
