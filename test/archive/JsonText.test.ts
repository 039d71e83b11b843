/**
 * The JSON layer's fast paths against plain models, on random texts: the keys `parse` marks are those a walk
 * over every character marks (integer-like keys, keys starting with the mark, raw or escaped, and no quote
 * inside a string taken for a key), and `encode` writes what JSON.stringify writes, piece by piece, with the
 * layer's rules (marked keys unmarked, -0 as -0.0, bigints as digits, undefined members skipped).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Json from "../../src/archive/Json.ts"

const MARK = "\uE000"
const INTEGER_LIKE = /^(?:0|[1-9]\d{0,9})$/

// A seeded generator (mulberry32), so that every run sees the same texts.
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

// The model: one walk over every character, tracking strings and their escapes.
const markModel = (text: string): string => {
  let out = ""
  let last = 0
  let i = 0
  while (i < text.length) {
    if (text[i] !== '"') {
      i++
      continue
    }
    const start = i++
    let digits = true
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") {
        digits = false
        i += 2
      } else {
        if (text[i]! < "0" || text[i]! > "9") digits = false
        i++
      }
    }
    const end = i++
    if (end - start < 2) continue
    const content = text.slice(start + 1, end)
    const marked = digits ? INTEGER_LIKE.test(content) : content.startsWith(MARK) || content.toLowerCase().startsWith("\\ue000")
    let j = i
    while (/[ \t\n\r]/.test(text[j] ?? "")) j++
    if (!marked || text[j] !== ":") continue
    out += text.slice(last, start + 1) + MARK
    last = start + 1
  }
  return out + text.slice(last)
}

// The model of `encode`: JSON.stringify piece by piece.
const encodeModel = (v: unknown): string => {
  if (v === null || v === undefined) return "null"
  if (typeof v === "number") return Object.is(v, -0) ? "-0.0" : Number.isFinite(v) ? String(v) : "null"
  if (typeof v === "bigint") return v.toString()
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v)
  if (Array.isArray(v)) return `[${Array.from(v, encodeModel).join(",")}]`
  return `{${
    Object.entries(v as object).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(Json.unkey(k))}:${encodeModel(x)}`)
      .join(",")
  }}`
}

// No key ends with a backslash: Node 24.21's JSON.parse, having read `{"\\": 1}`, reads a later `{"\"": 1}` as
// `{"\\": 1}` (the key spelled with an escaped quote taken for the backslash key). That is V8's,
// not this layer's (the same in plain JSON.parse).
const KEYS = ["0", "1", "42", "007", "01", "1234567890", "12345678901", MARK, `${MARK}1`, `${MARK}x`, `a${MARK}`, "x", "", '"', '1"', " 1", "__proto__", 'a\\"1']
const STRINGS = ["a", "1", MARK, '"1":', '\\"1\\":', "", "\\", 'x\\"', `${MARK} 1`, "é", "\u2028", "\ud83d\ude00", "\ud800", "\x01\t\n"]

const generate = (r: () => number) => {
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(r() * xs.length)]!
  const ws = () => pick(["", " ", "\n", "\t ", "\r\n  "])
  const value = (depth: number): unknown => {
    const k = r()
    if (depth > 4 || k < 0.35) return pick<unknown>([1, 0, -0, 2.5, "s", pick(STRINGS), null, true, [], {}, 10n ** 20n])
    if (k < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1))
    const o: Record<string, unknown> = {}
    for (let i = Math.floor(r() * 4); i > 0; i--) {
      Object.defineProperty(o, pick(KEYS), { value: value(depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return o
  }
  // JSON text of a value without bigints, with random whitespace and random `\uXXXX` escapes (always for
  // control characters and lone surrogates, which UTF-8 cannot carry).
  const text = (v: unknown): string => {
    if (typeof v === "string") {
      let s = '"'
      for (const ch of v) {
        if (ch === '"' || ch === "\\") s += `\\${ch}`
        else if (ch < " " || /^[\ud800-\udfff]$/.test(ch) || r() < 0.15) s += `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`
        else s += ch
      }
      return `${s}"`
    }
    if (typeof v === "bigint" || (typeof v === "number" && Object.is(v, -0))) return "0"
    if (Array.isArray(v)) return `[${ws()}${v.map(text).join(`${ws()},${ws()}`)}${ws()}]`
    if (v !== null && typeof v === "object") {
      return `{${ws()}${Object.entries(v).map(([k, x]) => `${text(k)}${ws()}:${ws()}${text(x)}`).join(`,${ws()}`)}${ws()}}`
    }
    return JSON.stringify(v)
  }
  return { value, text }
}

describe("Json: fast paths agree with their models", () => {
  it.effect("parse marks the keys a walk over every character marks", () =>
    Effect.gen(function*() {
      const r = random(7)
      const { text, value } = generate(r)
      const bytes = new TextEncoder()
      for (let i = 0; i < 5000; i++) {
        const t = text(value(0))
        const got = yield* Effect.result(Json.parse(bytes.encode(t), { archive: "a", entry: "e" }))
        assert.isTrue(Result.isSuccess(got), t)
        if (Result.isSuccess(got)) assert.strictEqual(JSON.stringify(got.success), JSON.stringify(JSON.parse(markModel(t))), t)
      }
    }))

  it("encode writes the model's text, and stringify is its UTF-8", () => {
    const r = random(11)
    const { value } = generate(r)
    for (let i = 0; i < 5000; i++) {
      const v = value(0)
      const want = encodeModel(v)
      assert.strictEqual(new TextDecoder().decode(Json.encode(v)), want)
      assert.strictEqual(Json.stringify(v), want)
    }
    // Long strings take another path: escaped by JSON.stringify and encoded apart.
    const long = `${"é\"\\\n".repeat(6000)}\ud800${"x".repeat(20000)}`
    assert.strictEqual(Json.stringify({ long, after: [long, 1] }), encodeModel({ long, after: [long, 1] }))
  })
})
