/**
 * The tryouts' random numbers (their tools/freeze.mjs, tools/pub.mjs; tryout 27's scripts): an LCG (glibc's
 * constants, 31 bits) and the Box–Muller transform, seeded, so a test regenerates a tryout's data exactly.
 * @returns a source of standard normal numbers
 */
export function tryoutGauss(seed: number): () => number {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  return () => {
    let u = 0;
    while (!u) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
}
