/**
 * The JSON layer of the archives: integer-like keys are marked to keep their order, and the marking is a
 * bijection, so that a key that itself starts with the mark (U+E000) comes back as the archive spells it,
 * in its raw form and escaped (`\ue000`); JSON held inside a string obeys the same depth limit.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { constants } from "node:buffer"
import * as Json from "../../src/archive/Json.ts"

const MARK = "\uE000"
const LOCATION = { archive: "t", entry: "e.json" }
const bytes = (s: string) => new TextEncoder().encode(s)
const parse = (text: string) => Json.parse(bytes(text), LOCATION)
const names = (obj: unknown) => Json.entries(obj as { readonly [k: string]: unknown }).map(([k]) => k)
const nested = (n: number) => "[".repeat(n) + "0" + "]".repeat(n)

describe("Json: keys", () => {
  it("key and unkey are inverse for every name, those starting with the mark included", () => {
    for (const name of ["x", "42", "0", "007", `${MARK}42`, `${MARK}`, `${MARK}${MARK}7`, `${MARK}abc`, "__proto__", ""]) {
      assert.strictEqual(Json.unkey(Json.key(name)), name, JSON.stringify(name))
    }
    // Distinct names never share a stored key.
    assert.notStrictEqual(Json.key("42"), Json.key(`${MARK}42`))
  })

  it.effect("a key starting with the mark, raw or escaped, reads as it is written, next to an integer-like key", () =>
    Effect.gen(function*() {
      for (const text of [`{"1": "a", "${MARK}1": "b", "${MARK}42": "c"}`, `{"1": "a", "\\ue0001": "b", "\\uE00042": "c"}`]) {
        const value = yield* parse(text)
        assert.deepStrictEqual(names(value), ["1", `${MARK}1`, `${MARK}42`], text)
        assert.strictEqual(Json.get(value as { readonly [k: string]: unknown }, `${MARK}1`), "b")
        assert.strictEqual(Json.get(value as { readonly [k: string]: unknown }, "1"), "a")
        // Written back, each key is the one read.
        assert.deepStrictEqual(JSON.parse(Json.stringify(value)), { "1": "a", [`${MARK}1`]: "b", [`${MARK}42`]: "c" })
      }
    }))

  it.effect("a value (not a key) starting with the mark is left alone", () =>
    Effect.gen(function*() {
      const value = yield* parse(`{"a": "${MARK}42", "b": ["\\ue0007"]}`)
      assert.deepStrictEqual(value, { a: `${MARK}42`, b: [`${MARK}7`] })
    }))

  it("put sets every name as an own data property, in order, names of Object.prototype's included", () => {
    const names = ["b", "__proto__", "toString", "constructor", "7", `${MARK}7`, "hasOwnProperty", "a", "valueOf"]
    for (const proto of [Object.prototype, null]) {
      const obj: { [k: string]: number } = Object.create(proto)
      names.forEach((name, i) => Json.put(obj, name, i))
      assert.strictEqual(Object.getPrototypeOf(obj), proto)
      assert.deepStrictEqual(Json.entries(obj), names.map((name, i) => [name, i] as const))
      for (const k of Object.keys(obj)) {
        assert.deepStrictEqual(Object.getOwnPropertyDescriptor(obj, k), { value: names.indexOf(Json.unkey(k)), enumerable: true, writable: true, configurable: true }, k)
      }
      // Set again: the value changes, the order does not.
      Json.put(obj, "__proto__", -1)
      Json.put(obj, "a", -2)
      assert.deepStrictEqual(Json.entries(obj).map(([k]) => k), names)
      assert.strictEqual(Json.get(obj, "__proto__"), -1)
      assert.strictEqual(Json.get(obj, "a"), -2)
    }
  })

  it("mark is the inverse of unmark: plain JSON with such keys is written as it is", () => {
    const plain = { [`${MARK}42`]: 1, "7": { [`${MARK}`]: [2] } }
    assert.deepStrictEqual(JSON.parse(Json.stringify(Json.mark(plain))), plain)
    assert.deepStrictEqual(Json.unmark(Json.mark(plain)), plain)
  })
})

describe("Json: JSON inside a string", () => {
  it("parseText keeps large integers exact and refuses what is too deep or not JSON, with the place", () => {
    assert.deepStrictEqual(Json.parseText("[9223372036854775807, 1]"), Result.succeed([9223372036854775807n, 1]))
    const deep = Json.parseText(nested(5000))
    assert.isTrue(Result.isFailure(deep))
    if (Result.isFailure(deep)) {
      assert.strictEqual(deep.failure.fault, "SchemaMismatch")
      // The path names where the nesting starts and ends, and how many levels lie between.
      assert.strictEqual(deep.failure.path, "$" + "[0]".repeat(8) + `…(${Json.MAX_DEPTH - 12} levels)…` + "[0]".repeat(4))
    }
    const bad = Json.parseText("{nope")
    assert.isTrue(Result.isFailure(bad) && bad.failure.fault === "BadJson")
    assert.isTrue(Result.isSuccess(Json.parseText(nested(Json.MAX_DEPTH - 1))))
  })

  it("depthFault measures any nesting without recursion", () => {
    let v: unknown = 0
    for (let i = 0; i < 100_000; i++) v = [v]
    assert.strictEqual(Json.depthFault(v), "$" + "[0]".repeat(8) + `…(${Json.MAX_DEPTH - 12} levels)…` + "[0]".repeat(4))
    let o: unknown = 0
    for (let i = 0; i < 300; i++) o = { [i % 2 === 0 ? "a" : "b c"]: o }
    assert.strictEqual(Json.depthFault(o), '$["b c"].a["b c"].a["b c"].a["b c"].a…(244 levels)…["b c"].a["b c"].a')
    assert.isUndefined(Json.depthFault({ a: [1, { b: 2 }] }))
  })
})

describe("Json: text no string holds", () => {
  it.effect("JSON longer than a JavaScript string holds is BadJson saying so; invalid UTF-8 is BadJson as the decoder says", () =>
    Effect.gen(function*() {
      // The buffer is only read, so the operating system gives it no memory of its own.
      const n = constants.MAX_STRING_LENGTH + 1
      const long = yield* Effect.flip(Json.parse(new Uint8Array(n), LOCATION))
      assert.deepStrictEqual([long.fault, long.entry, long.path], ["BadJson", "e.json", undefined])
      assert.strictEqual(long.detail, `${n} bytes of text: longer than the ${constants.MAX_STRING_LENGTH} characters a JavaScript string holds`)
      const invalid = yield* Effect.flip(Json.parse(Uint8Array.from([0x22, 0xc3, 0x28, 0x22]), LOCATION))
      assert.strictEqual(invalid.fault, "BadJson")
      assert.notInclude(invalid.detail, "longer than")
    }))
})
