/**
 * A seeded uniform source in [0, 1) for the e2e tests' sensor noise: a 32-bit linear congruential generator
 * (Numerical Recipes' constants, 1664525 and 1013904223). Deterministic on every platform; not for anything but test data.
 */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
