/**
 * JSON entries of an archive: UTF-8 text, parsed, then decoded with a schema, every failure located at the
 * entry and the JSON path of its first fault; and the writer for the same entries.
 *
 * Three things plain `JSON.parse` / `JSON.stringify` get wrong for archives written by Python:
 * - **Key order.** A JavaScript object lists integer-like keys (`"0"`, `"7"`) first, in numeric order, but a
 *   module's children are in registration order (`add_module("7", ...)` after `conv`). The parser therefore
 *   marks integer-like keys ({@link key}) so that objects keep the text's order; readers take keys with
 *   {@link entries}, writers give marked keys back to {@link stringify}, which writes them unmarked.
 * - **Depth.** Deeply nested input would overflow the stack of the recursive decoders; anything deeper
 *   than {@link MAX_DEPTH} is refused, located, before decoding.
 * - **Negative zero.** Python writes `-0.0`; `JSON.stringify(-0)` writes `0`. {@link stringify} keeps it.
 * - **Large integers.** torch writes int64 values such as `9223372036854775807` as plain numbers, which a
 *   JavaScript number would round. The parser keeps an integer beyond 2^53 exactly, as a `bigint`, and
 *   {@link stringify} writes a `bigint` as its digits.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import * as ArchiveError from "./ArchiveError.ts"

/**
 * The deepest nesting of arrays and objects accepted.
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_DEPTH = 256

// A private-use character: keys that start with it are integer-like keys, marked.
const MARK = "\uE000"
const INTEGER_LIKE = /^(?:0|[1-9]\d{0,9})$/

/**
 * The key under which a name is stored in a parsed or to-be-written object: integer-like names are marked,
 * so that the object keeps insertion order.
 *
 * @since 0.1.0
 * @category encoding
 */
export const key = (name: string): string => (INTEGER_LIKE.test(name) ? MARK + name : name)

/**
 * A name from a stored key.
 *
 * @since 0.1.0
 * @category decoding
 */
export const unkey = (stored: string): string =>
  stored.startsWith(MARK) && INTEGER_LIKE.test(stored.slice(1)) ? stored.slice(1) : stored

/**
 * The entries of a parsed object, in the text's order, with their real names.
 *
 * @since 0.1.0
 * @category decoding
 */
export const entries = <V>(obj: { readonly [k: string]: V }): Array<readonly [string, V]> =>
  Object.entries(obj).map(([k, v]) => [unkey(k), v] as const)

/**
 * The value of a parsed object's own key, by its real name: never an inherited property (a value named
 * `toString` or `constructor` is looked up as data, not found on `Object.prototype`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const get = <V>(obj: { readonly [k: string]: V }, name: string): V | undefined => {
  const k = key(name)
  return Object.hasOwn(obj, k) ? obj[k] : undefined
}

/**
 * Sets a record's key to a value as an own data property, whatever the name (`__proto__` included, which an
 * assignment would take as the prototype).
 *
 * @since 0.1.0
 * @category encoding
 */
export const put = <V>(obj: { [k: string]: V }, name: string, value: V): void => {
  Object.defineProperty(obj, key(name), { value, enumerable: true, writable: true, configurable: true })
}

/**
 * A copy of a parsed value with every marked key restored (for values passed through as plain JSON, whose
 * key order JavaScript cannot keep).
 *
 * @since 0.1.0
 * @category decoding
 */
export const unmark = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(unmark)
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [unkey(k), unmark(v)]))
}

// Marks integer-like object keys in JSON text: one linear scan that tracks strings and their escapes.
const markKeys = (text: string): string => {
  let out: Array<string> | undefined
  let last = 0
  let i = 0
  const n = text.length
  while (i < n) {
    if (text.charCodeAt(i) !== 34) {
      i++
      continue
    }
    const start = i++
    let digits = true
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 92) {
        digits = false
        i += 2
        continue
      }
      if (c === 34) break
      if (c < 48 || c > 57) digits = false
      i++
    }
    const end = i++ // the closing quote
    if (!digits || end - start < 2) continue
    let j = i
    while (j < n && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 10 || text.charCodeAt(j) === 13 || text.charCodeAt(j) === 9)) j++
    if (text.charCodeAt(j) !== 58 || !INTEGER_LIKE.test(text.slice(start + 1, end))) continue
    out ??= []
    out.push(text.slice(last, start + 1), MARK)
    last = start + 1
  }
  return out === undefined ? text : out.join("") + text.slice(last)
}

// The path of the first place nested deeper than MAX_DEPTH, or undefined. Iterative, so there is no recursion
// to overflow; each frame links to its parent, so the path is built only on failure.
interface Frame {
  readonly value: unknown
  readonly depth: number
  readonly parent: Frame | undefined
  readonly key: string | number
}
const tooDeep = (root: unknown): Array<string | number> | undefined => {
  const stack: Array<Frame> = [{ value: root, depth: 0, parent: undefined, key: "" }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const value = frame.value
    if (typeof value !== "object" || value === null) continue
    if (frame.depth >= MAX_DEPTH) {
      const path: Array<string | number> = []
      for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) path.unshift(f.key)
      return path
    }
    const depth = frame.depth + 1
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, depth, parent: frame, key: i }))
    else for (const [k, v] of Object.entries(value)) stack.push({ value: v, depth, parent: frame, key: unkey(k) })
  }
  return undefined
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

const LONG_DIGITS = /\d{16}/
// Node 24's reviver receives the source text of primitives: an integer too large to be exact as a number
// is read again, exactly, from its digits.
const exactIntegers = (_key: string, value: unknown, context?: { readonly source?: string }): unknown =>
  typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) &&
    context?.source !== undefined && /^-?\d+$/.test(context.source)
    ? BigInt(context.source)
    : value

/**
 * Formats a path as a JSON path: `$.graph.nodes[3].args[0]`.
 *
 * @since 0.1.0
 * @category getters
 */
export const formatPath = (path: ReadonlyArray<unknown>): string => {
  let out = "$"
  for (const seg of path) {
    const k = typeof seg === "object" && seg !== null && "key" in seg ? (seg as { key: unknown }).key : seg
    if (typeof k === "number") out += `[${k}]`
    else if (typeof k === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(unkey(k))) out += `.${unkey(k)}`
    else out += `[${JSON.stringify(unkey(String(k)))}]`
  }
  return out
}

/**
 * Appends a key to a JSON path.
 *
 * @since 0.1.0
 * @category getters
 */
export const child = (path: string, k: string | number): string =>
  typeof k === "number" ? `${path}[${k}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Parses JSON bytes: UTF-8, marked keys, depth limit.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (
  bytes: Uint8Array,
  location: { readonly archive: string; readonly entry: string }
): Effect.Effect<unknown, ArchiveError.ArchiveError> =>
  Effect.suspend(() => {
    let value: unknown
    try {
      const text = markKeys(utf8.decode(bytes))
      // The reviver costs, so it runs only where a long digit run could be an integer beyond 2^53.
      value = LONG_DIGITS.test(text) ? JSON.parse(text, exactIntegers) : JSON.parse(text)
    } catch (e) {
      return Effect.fail(ArchiveError.at(location, "BadJson", e instanceof Error ? e.message : String(e)))
    }
    const deep = tooDeep(value)
    if (deep !== undefined) {
      return Effect.fail(
        ArchiveError.at({ ...location, path: formatPath(deep) }, "SchemaMismatch", `nested deeper than ${MAX_DEPTH} levels`)
      )
    }
    return Effect.succeed(value)
  })

/**
 * Parses and decodes one JSON entry.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = <A>(
  schema: Schema.Codec<A, unknown>,
  bytes: Uint8Array,
  location: { readonly archive: string; readonly entry: string }
): Effect.Effect<A, ArchiveError.ArchiveError> =>
  Effect.flatMap(parse(bytes, location), (value) => {
    const result = Schema.decodeUnknownResult(schema)(value)
    if (Result.isSuccess(result)) return Effect.succeed(result.success)
    const first = formatter(result.failure.issue).issues[0]
    return Effect.fail(
      ArchiveError.at({ ...location, path: formatPath(first?.path ?? []) }, "SchemaMismatch", first?.message ?? "invalid")
    )
  })

/**
 * JSON text of a value: like `JSON.stringify`, but marked keys are written unmarked in insertion order,
 * and `-0` is written `-0.0`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const stringify = (value: unknown): string => {
  const out: Array<string> = []
  const write = (v: unknown): void => {
    if (v === null || v === undefined) out.push("null")
    else if (typeof v === "number") out.push(Object.is(v, -0) ? "-0.0" : Number.isFinite(v) ? String(v) : "null")
    else if (typeof v === "bigint") out.push(v.toString())
    else if (typeof v === "string") out.push(JSON.stringify(v))
    else if (typeof v === "boolean") out.push(v ? "true" : "false")
    else if (Array.isArray(v)) {
      out.push("[")
      v.forEach((x, i) => {
        if (i > 0) out.push(",")
        write(x)
      })
      out.push("]")
    } else if (typeof v === "object") {
      out.push("{")
      let first = true
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue
        if (!first) out.push(",")
        first = false
        out.push(JSON.stringify(unkey(k)), ":")
        write(x)
      }
      out.push("}")
    } else throw new TypeError(`cannot write a ${typeof v} as JSON`)
  }
  write(value)
  return out.join("")
}

/**
 * JSON text of a value as UTF-8 bytes (see {@link stringify}).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(stringify(value))
