/**
 * Seeded mutation helpers shared by the archive fuzzers (`.tgm` and `.pt2`).
 */
import type { Json, Prng } from "./TgmCraft.ts"

/** A 32-bit FNV-1a hash of a case's name: its PRNG seed, so that every case is reproducible by name. */
export const seedOf = (s: string) => {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

/** 1 to 8 mutations in [lo, hi): mostly single-bit flips, sometimes a whole random byte. */
export const flip = (b: Uint8Array, r: Prng, lo: number, hi: number) => {
  const n = r.int(1, 9)
  for (let j = 0; j < n; j++) {
    const at = r.int(lo, hi)
    // Mostly single-bit flips, sometimes a whole random byte.
    b[at] = r.next() < 0.75 ? b[at]! ^ (1 << r.int(0, 8)) : r.int(0, 256)
  }
  return b
}

/** Every (container, key) slot of a JSON value, in document order. */
export const slots = (root: Json): Array<readonly [Json, string | number]> => {
  const out: Array<readonly [Json, string | number]> = []
  const walk = (x: Json) => {
    if (Array.isArray(x)) x.forEach((y, i) => (out.push([x, i]), walk(y)))
    else if (x !== null && typeof x === "object") for (const k of Object.keys(x)) out.push([x, k]), walk(x[k])
  }
  walk(root)
  return out
}
