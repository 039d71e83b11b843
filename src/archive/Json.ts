/**
 * JSON entries of an archive: UTF-8 text, parsed, then decoded with a schema, every failure located at the
 * entry and the JSON path of its first fault; and the writer for the same entries.
 *
 * Three things plain `JSON.parse` / `JSON.stringify` get wrong for archives written by Python:
 * - **Key order.** A JavaScript object lists integer-like keys (`"0"`, `"7"`) first, in numeric order, but a
 *   module's children are in registration order (`add_module("7", ...)` after `conv`). The parser therefore
 *   marks integer-like keys ({@link key}) so that objects keep the text's order; readers take keys with
 *   {@link entries}, writers give marked keys back to {@link stringify}, which writes them unmarked. The mark
 *   is a private-use character, so a key that itself starts with it is marked too: marking is a bijection,
 *   and every key comes back as the archive spells it.
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
import { constants } from "node:buffer"
import * as ArchiveError from "./ArchiveError.ts"
import * as FastPath from "./FastPath.ts"

/**
 * The deepest nesting of arrays and objects accepted.
 *
 * @since 0.1.0
 * @category models
 */
export const MAX_DEPTH = 256

// A private-use character: a stored key that starts with it is a marked name (see `key`).
const MARK = "\uE000"
const MARK_CODE = MARK.charCodeAt(0)
// The mark as a JSON escape, for JSON text.
const MARK_ESCAPE = `\\u${MARK_CODE.toString(16)}`
const INTEGER_LIKE = /^(?:0|[1-9]\d{0,9})$/

/**
 * The key under which a name is stored in a parsed or to-be-written object: integer-like names are marked,
 * so that the object keeps insertion order, and so are names that start with the mark themselves, so that
 * {@link unkey} gives every name back (`"\uE00042"` is stored as `"\uE000\uE00042"`, not confused with `"42"`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const key = (name: string): string => (marks(name) ? MARK + name : name)

// Whether a name is stored marked: a digit or the mark first, which most names (`add_tensor_3`) rule out before
// the pattern is tried; this runs for every value a program's records look up or set by name.
const marks = (name: string): boolean => {
  const c = name.charCodeAt(0)
  return c === MARK_CODE || (c >= 48 && c <= 57 && INTEGER_LIKE.test(name))
}

/**
 * A name from a stored key: the inverse of {@link key}.
 *
 * @since 0.1.0
 * @category decoding
 */
export const unkey = (stored: string): string => (stored.startsWith(MARK) ? stored.slice(1) : stored)

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
  const k = key(name)
  // A name of `Object.prototype`'s is defined: an assignment would call `__proto__`'s setter, or fail where the
  // prototype is frozen. Any other is assigned, which gives the same descriptor, faster.
  if (k in Object.prototype) Object.defineProperty(obj, k, { value, enumerable: true, writable: true, configurable: true })
  else obj[k] = value
}

// A copy of a JSON value with every key mapped by `f`, in order, each an own data property whatever its name
// (`__proto__` included). Iterative, so that no nesting overflows the stack.
const mapKeys = (value: unknown, f: (k: string) => string): unknown => {
  const shell = (v: object): Array<unknown> | Record<string, unknown> => (Array.isArray(v) ? new Array<unknown>(v.length) : {})
  if (typeof value !== "object" || value === null) return value
  const root = shell(value)
  const stack: Array<readonly [object, Array<unknown> | Record<string, unknown>]> = [[value, root]]
  while (stack.length > 0) {
    const [source, target] = stack.pop()!
    const put = (k: string | number, v: unknown) => {
      const copy = typeof v === "object" && v !== null ? shell(v) : v
      if (typeof k === "number") (target as Array<unknown>)[k] = copy
      else Object.defineProperty(target, k, { value: copy, enumerable: true, writable: true, configurable: true })
      if (copy !== v) stack.push([v as object, copy as Array<unknown> | Record<string, unknown>])
    }
    if (Array.isArray(source)) source.forEach((v, i) => put(i, v))
    else for (const [k, v] of Object.entries(source)) put(f(k), v)
  }
  return root
}

// Whether `f` changes a key of a JSON value, at any depth. Iterative, as `mapKeys`, on one stack kept between
// calls (emptied before each returns), so that it allocates nothing: it runs on the metadata of every node of
// a large graph, where almost no key changes. Neither `key` nor `unkey` calls back into it.
const pending: Array<object> = []
const changesKeys = (value: unknown, f: (k: string) => string): boolean => {
  if (typeof value !== "object" || value === null) return false
  const stack = pending
  stack.push(value)
  while (stack.length > 0) {
    const v = stack.pop()!
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i]
        if (typeof x === "object" && x !== null) stack.push(x)
      }
      continue
    }
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue
      if (f(k) !== k) {
        stack.length = 0
        return true
      }
      const x = (v as Record<string, unknown>)[k]
      if (typeof x === "object" && x !== null) stack.push(x)
    }
  }
  return false
}

/**
 * A parsed value with every marked key restored (for values passed through as plain JSON, whose key order
 * JavaScript cannot keep): a copy where a key changes, the value itself where none does. Keys are own data
 * properties whatever their names (`__proto__` included), as they are in what `parse` gives.
 *
 * @since 0.1.0
 * @category decoding
 */
export const unmark = (value: unknown): unknown => (changesKeys(value, unkey) ? mapKeys(value, unkey) : value)

/**
 * The inverse of {@link unmark}: a plain JSON value with every key stored by {@link key}, ready for
 * {@link stringify} (which would otherwise take a name that starts with the mark for a marked one); a copy
 * where a key changes, the value itself where none does.
 *
 * @since 0.1.0
 * @category encoding
 */
export const mark = (value: unknown): unknown => (changesKeys(value, key) ? mapKeys(value, key) : value)

// A key that may need its mark: an integer-like one (its colon included), or one that starts with the mark,
// raw or escaped (`\ue000`, any case). A match is a key only where its quote opens a string rather than being
// escaped inside one (the backslashes before it say which): in JSON text every unescaped quote delimits a
// string, and one followed by digits, a quote and a colon can only open a key.
const CANDIDATE = /"(?:(?:0|[1-9]\d{0,9})"[ \t\n\r]*:|\uE000|\\u[eE]000)/g

// Whether the character at `at` is escaped: an odd number of backslashes before it.
const escapedAt = (text: string, at: number): boolean => {
  let k = at - 1
  while (k >= 0 && text.charCodeAt(k) === 92) k--
  return (at - 1 - k) % 2 === 1
}

// The index of the quote that closes the string whose opening quote is at `start`, or -1.
const closingQuote = (text: string, start: number): number => {
  for (let i = text.indexOf('"', start + 1); i !== -1; i = text.indexOf('"', i + 1)) if (!escapedAt(text, i)) return i
  return -1
}

// Marks object keys in JSON text as `key` does (integer-like ones, and those that start with the mark). The
// regular expression finds the few candidates, so that the text is not walked a character at a time in
// JavaScript (a second per 50 MB of a large program's JSON).
const markKeys = (text: string): string => {
  let out: Array<string> | undefined
  let last = 0
  const candidates = new RegExp(CANDIDATE)
  for (let m = candidates.exec(text); m !== null; m = candidates.exec(text)) {
    const start = m.index
    if (escapedAt(text, start)) {
      candidates.lastIndex = start + 1
      continue
    }
    const c = text.charCodeAt(start + 1)
    if (c < 48 || c > 57) {
      // It starts with the mark: a key if a colon follows the string.
      const end = closingQuote(text, start)
      if (end === -1) break
      candidates.lastIndex = end + 1
      let j = end + 1
      while (j < text.length && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 10 || text.charCodeAt(j) === 13 || text.charCodeAt(j) === 9)) j++
      if (text.charCodeAt(j) !== 58) continue
    }
    out ??= []
    // The mark as its escape: text of ASCII stays one byte a character (the mark itself would double its size),
    // which JSON.parse reads faster; the key it gives is the same.
    out.push(text.slice(last, start + 1), MARK_ESCAPE)
    last = start + 1
  }
  return out === undefined ? text : out.join("") + text.slice(last)
}

// One walk over a parsed value: whether it nests deeper than MAX_DEPTH (TOO_DEEP), and whether it holds an
// integer a number cannot hold exactly (ROUNDED). Recursive, but it stops at MAX_DEPTH, so the stack it uses
// is bounded; it allocates nothing, which matters on every node of a large program.
const TOO_DEEP = 1
const ROUNDED = 2
const scan = (value: unknown, depth: number): number => {
  if (typeof value === "number") return rounded(value)
  if (typeof value !== "object" || value === null) return 0
  if (depth >= MAX_DEPTH) return TOO_DEEP
  // A member that is not an object or array is decided here, without a call: most are strings and numbers.
  let flags = 0
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && (flags & TOO_DEEP) === 0; i++) {
      const v: unknown = value[i]
      flags |= typeof v === "object" && v !== null ? scan(v, depth + 1) : typeof v === "number" ? rounded(v) : 0
    }
    return flags
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue
    const v = (value as Record<string, unknown>)[k]
    flags |= typeof v === "object" && v !== null ? scan(v, depth + 1) : typeof v === "number" ? rounded(v) : 0
    if ((flags & TOO_DEEP) !== 0) break
  }
  return flags
}

const rounded = (n: number): number => Number.isInteger(n) && !Number.isSafeInteger(n) ? ROUNDED : 0

// The path of the first place nested deeper than MAX_DEPTH, or undefined. The walk that builds the path is
// iterative, so there is no recursion to overflow; each frame links to its parent, so the path is built only
// on failure, and the walk runs only where `scan` has found the value too deep.
interface Frame {
  readonly value: unknown
  readonly depth: number
  readonly parent: Frame | undefined
  readonly key: string | number
}
const tooDeep = (root: unknown): Array<string | number> | undefined => {
  if ((scan(root, 0) & TOO_DEEP) === 0) return undefined
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
    else for (const [k, v] of Object.entries(value)) stack.push({ value: v, depth, parent: frame, key: k })
  }
  return undefined
}

/**
 * The JSON path of the first place where a value nests deeper than {@link MAX_DEPTH}, or undefined: what the
 * readers refuse, for a writer to refuse before it writes. Iterative, so any nesting is measured.
 *
 * @since 0.1.0
 * @category getters
 */
export const depthFault = (value: unknown): string | undefined => {
  const deep = tooDeep(value)
  return deep === undefined ? undefined : formatDeepPath(deep)
}

// A path MAX_DEPTH segments long, as words: its first and last segments with the count of those between, so
// that the error names where the nesting starts and ends in a line a user can read.
const formatDeepPath = (path: ReadonlyArray<string | number>): string => {
  const head = 8
  const tail = 4
  if (path.length <= head + tail + 1) return formatPath(path)
  const between = path.length - head - tail
  return `${formatPath(path.slice(0, head))}…(${between} levels)…${formatPath(path.slice(-tail)).slice(1)}`
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The detail of a fault where decoding `bytes` bytes of UTF-8 threw `e` because no JavaScript string can
 * hold the text (Node's `ERR_STRING_TOO_LONG`; invalid UTF-8 is a `TypeError`), or undefined for any other
 * error. Python's strings have no such bound (docs/divergences.md).
 *
 * @since 0.1.0
 * @category decoding
 * @internal
 */
export const textTooLong = (e: unknown, bytes: number): string | undefined =>
  e instanceof Error && (e as NodeJS.ErrnoException).code === "ERR_STRING_TOO_LONG"
    ? `${bytes} bytes of text: longer than the ${constants.MAX_STRING_LENGTH} characters a JavaScript string holds`
    : undefined

// Whether this Node gives a reviver the source text of primitives (Node 22 and later do).
const SOURCE_TEXT: boolean = (() => {
  let seen = false
  JSON.parse("1", (_key, value, context?: { readonly source?: string }) => {
    seen = context?.source === "1"
    return value
  })
  return seen
})()

// Node 24's reviver receives the source text of primitives: an integer too large to be exact as a number
// is read again, exactly, from its digits.
const exactIntegers = (_key: string, value: unknown, context?: { readonly source?: string }): unknown =>
  typeof value === "number" && !Number.isSafeInteger(value) && Number.isInteger(value) &&
    context?.source !== undefined && /^-?\d+$/.test(context.source)
    ? BigInt(context.source)
    : value

/**
 * Formats a path as a JSON path: `$.graph.nodes[3].args[0]`. Keys are stored keys ({@link key}), as a
 * parsed value and a schema issue hold them, and are shown as their names.
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
 * Why JSON text was refused: it does not parse (`BadJson`), or it is nested too deep (`SchemaMismatch`, at
 * the JSON path of the first place too deep).
 *
 * @since 0.1.0
 * @category models
 */
export interface TextFault {
  readonly fault: "BadJson" | "SchemaMismatch"
  readonly path: string
  readonly detail: string
}

// JSON text to a value: large integers exact, the depth limit; keys marked where `marked`.
const parseWith = (text: string, marked: boolean): Result.Result<unknown, TextFault> => {
  let value: unknown
  const t = marked ? markKeys(text) : text
  try {
    value = JSON.parse(t)
  } catch (e) {
    return Result.fail({ fault: "BadJson", path: "$", detail: e instanceof Error ? e.message : String(e) })
  }
  const flags = scan(value, 0)
  if ((flags & TOO_DEEP) !== 0) {
    return Result.fail({ fault: "SchemaMismatch", path: formatDeepPath(tooDeep(value)!), detail: `nested deeper than ${MAX_DEPTH} levels` })
  }
  // The reviver costs, so the text is parsed again with it only where an integer was rounded.
  if ((flags & ROUNDED) !== 0) {
    if (!SOURCE_TEXT) {
      return Result.fail({
        fault: "BadJson",
        path: "$",
        detail: `it holds an integer beyond 2^53, which Node ${process.versions.node} cannot read exactly (JSON.parse gives ` +
          "revivers the source text from Node 22 on): trtx needs Node 22.19 or later"
      })
    }
    value = JSON.parse(t, exactIntegers)
  }
  return Result.succeed(value)
}

/**
 * Parses JSON text that an archive holds inside a string (a pytree treespec, custom metadata) by the rules
 * of {@link parse}: integers beyond 2^53 exact, nothing nested deeper than {@link MAX_DEPTH}, so that no
 * later recursion over the value can overflow the stack. Keys are not marked: the value is plain JSON, as
 * the program keeps it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parseText = (text: string): Result.Result<unknown, TextFault> => parseWith(text, false)

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
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch (e) {
      return Effect.fail(ArchiveError.at(location, "BadJson", textTooLong(e, bytes.byteLength) ?? (e instanceof Error ? e.message : String(e))))
    }
    const r = parseWith(text, true)
    if (Result.isSuccess(r)) return Effect.succeed(r.success)
    const f = r.failure
    return Effect.fail(ArchiveError.at(f.fault === "BadJson" ? location : { ...location, path: f.path }, f.fault, f.detail))
  })

/**
 * Decodes a parsed value with a schema; a failure is its first issue, at its JSON path.
 *
 * **Gotchas:** the value must come from {@link parse} or {@link parseText} (no deeper than
 * {@link MAX_DEPTH}), and the schema's checks must not throw: then decoding cannot overflow the stack or
 * fail with anything but issues.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeValue = <A>(
  schema: Schema.Codec<A, unknown>,
  value: unknown
): Result.Result<A, { readonly path: string; readonly detail: string }> => {
  const fast = FastPath.decode(schema, value)
  if (fast !== FastPath.fallback) return Result.succeed(fast as A)
  const result = Schema.decodeUnknownResult(schema)(value)
  return Result.isSuccess(result) ? Result.succeed(result.success) : Result.fail(firstIssue(result.failure.issue))
}

/**
 * Encodes a value with a schema (to the JSON a writer writes); a failure is its first issue, at its JSON
 * path. The same gotchas as {@link decodeValue}.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeValue = <A, I>(
  schema: Schema.Codec<A, I>,
  value: A
): Result.Result<I, { readonly path: string; readonly detail: string }> => {
  const fast = FastPath.encode(schema, value)
  if (fast !== FastPath.fallback) return Result.succeed(fast as I)
  const result = Schema.encodeResult(schema)(value)
  return Result.isSuccess(result) ? Result.succeed(result.success) : Result.fail(firstIssue(result.failure.issue))
}

const firstIssue = (issue: SchemaIssue.Issue): { readonly path: string; readonly detail: string } => {
  const first = formatter(issue).issues[0]
  return { path: formatPath(first?.path ?? []), detail: first?.message ?? "invalid" }
}

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
    const result = decodeValue(schema, value)
    if (Result.isSuccess(result)) return Effect.succeed(result.success)
    return Effect.fail(ArchiveError.at({ ...location, path: result.failure.path }, "SchemaMismatch", result.failure.detail))
  })

/**
 * A {@link TextFault} as words: `at $[0][1]: nested deeper than 256 levels`.
 *
 * @since 0.1.0
 * @category getters
 */
export const textFaultMessage = (f: TextFault): string =>
  f.fault === "BadJson" ? `it does not parse: ${f.detail}` : `at ${f.path}: ${f.detail}`

/**
 * JSON text of a value: like `JSON.stringify`, but marked keys are written unmarked in insertion order,
 * and `-0` is written `-0.0`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const stringify = (value: unknown): string => new TextDecoder().decode(encode(value))

/**
 * JSON text of a value as UTF-8 bytes (see {@link stringify}), written straight to bytes: a program's
 * `model.json` is tens of megabytes, and neither its pieces nor its text are made on the way.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (value: unknown): Uint8Array => {
  if (value !== undefined && plain(value)) {
    try {
      return utf8Encoder.encode(JSON.stringify(value))
    } catch (e) {
      // Text longer than a string can hold: written piece by piece below.
      if (!(e instanceof RangeError)) throw e
    }
  }
  const w = new ByteWriter()
  w.value(value)
  return w.bytes()
}

// Escapes of the ASCII control characters, as JSON.stringify writes them.
const SHORT_ESCAPES: Record<number, number> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114 }
const HEX = "0123456789abcdef"
const CHUNK = 1 << 16
const MAX_CHUNK = 1 << 24
// Longer strings are escaped by JSON.stringify and encoded apart, rather than given 6 bytes a character.
const LONG_STRING = 1 << 14
const utf8Encoder = new TextEncoder()

// UTF-8 output in chunks that double up to 16 MiB, joined once at the end.
class ByteWriter {
  #chunks: Array<Uint8Array> = []
  #buf = new Uint8Array(CHUNK)
  #pos = 0

  // Room for `n` more bytes in the current chunk.
  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return
    this.#chunks.push(this.#buf.subarray(0, this.#pos))
    this.#buf = new Uint8Array(Math.max(n, Math.min(this.#buf.length * 2, MAX_CHUNK)))
    this.#pos = 0
  }

  // Bytes of their own, as a chunk.
  #chunk(bytes: Uint8Array): void {
    this.#chunks.push(this.#buf.subarray(0, this.#pos), bytes)
    this.#buf = this.#buf.subarray(this.#pos)
    this.#pos = 0
  }

  // A string of ASCII characters that need no escape (numbers, literals).
  #ascii(s: string): void {
    this.#room(s.length)
    const buf = this.#buf
    let pos = this.#pos
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i)
    this.#pos = pos
  }

  // A JSON string literal, escaped as JSON.stringify escapes (control characters, quote, backslash, lone
  // surrogates), then UTF-8.
  #string(s: string): void {
    if (s.length > LONG_STRING) return this.#chunk(utf8Encoder.encode(JSON.stringify(s)))
    // At most 6 bytes a character (`\u00XX`, or a lone surrogate's `\udXXX`), and the quotes.
    this.#room(6 * s.length + 2)
    const buf = this.#buf
    let pos = this.#pos
    buf[pos++] = 34
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x80) {
        if (c >= 0x20 && c !== 34 && c !== 92) buf[pos++] = c
        else {
          buf[pos++] = 92
          const short = c === 34 || c === 92 ? c : SHORT_ESCAPES[c]
          if (short !== undefined) buf[pos++] = short
          else pos = unicodeEscape(buf, pos, c)
        }
      } else if (c < 0x800) {
        buf[pos++] = 0xc0 | (c >> 6)
        buf[pos++] = 0x80 | (c & 0x3f)
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
          buf[pos++] = 0xf0 | (cp >> 18)
          buf[pos++] = 0x80 | ((cp >> 12) & 0x3f)
          buf[pos++] = 0x80 | ((cp >> 6) & 0x3f)
          buf[pos++] = 0x80 | (cp & 0x3f)
          i++
        } else {
          buf[pos++] = 92
          pos = unicodeEscape(buf, pos, c)
        }
      } else {
        buf[pos++] = 0xe0 | (c >> 12)
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f)
        buf[pos++] = 0x80 | (c & 0x3f)
      }
    }
    buf[pos++] = 34
    this.#pos = pos
  }

  value(v: unknown): void {
    if (v === null || v === undefined) this.#ascii("null")
    else if (typeof v === "string") this.#string(v)
    else if (typeof v === "number") this.#ascii(Object.is(v, -0) ? "-0.0" : Number.isFinite(v) ? String(v) : "null")
    else if (typeof v === "boolean") this.#ascii(v ? "true" : "false")
    else if (typeof v === "bigint") this.#ascii(v.toString())
    else if (Array.isArray(v)) {
      this.#ascii("[")
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.#ascii(",")
        this.value(v[i])
      }
      this.#ascii("]")
    } else if (typeof v === "object") {
      this.#ascii("{")
      let first = true
      const o = v as Record<string, unknown>
      for (const k of Object.keys(o)) {
        const x = o[k]
        if (x === undefined) continue
        if (!first) this.#ascii(",")
        first = false
        this.#string(unkey(k))
        this.#ascii(":")
        this.value(x)
      }
      this.#ascii("}")
    } else throw new TypeError(`cannot write a ${typeof v} as JSON`)
  }

  bytes(): Uint8Array {
    const last = this.#buf.subarray(0, this.#pos)
    if (this.#chunks.length === 0) return last.slice()
    let size = last.length
    for (const c of this.#chunks) size += c.length
    const out = new Uint8Array(size)
    let at = 0
    for (const c of this.#chunks) {
      out.set(c, at)
      at += c.length
    }
    out.set(last, at)
    return out
  }
}

// Whether `JSON.stringify` writes `value` as {@link encode} does: no bigint, no `-0`, no marked key, nothing
// but plain objects, arrays and primitives it writes. Then the engine's own writer does the work, about
// twice as fast as the one below. A member that is not an object or array is decided in its container's loop,
// without a call: most are strings and numbers.
const plain = (value: unknown): boolean =>
  typeof value === "object" && value !== null ? plainContainer(value) : plainPrimitive(value)

const plainPrimitive = (v: unknown): boolean => {
  switch (typeof v) {
    case "string":
    case "boolean":
    case "undefined":
      return true
    case "number":
      return v !== 0 || 1 / v > 0
    default:
      return false
  }
}

const plainContainer = (value: object): boolean => {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i]
      if (typeof v === "object" ? v !== null && !plainContainer(v) : typeof v !== "string" && !plainPrimitive(v)) return false
    }
    return true
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  for (const k in value) {
    if (k.charCodeAt(0) === MARK_CODE) return false
    const v = (value as Record<string, unknown>)[k]
    if (typeof v === "object" ? v !== null && !plainContainer(v) : typeof v !== "string" && !plainPrimitive(v)) return false
  }
  return true
}

// `uXXXX` (the backslash already written), lower-case hex as JSON.stringify writes it.
const unicodeEscape = (buf: Uint8Array, pos: number, c: number): number => {
  buf[pos++] = 117
  buf[pos++] = HEX.charCodeAt((c >> 12) & 15)
  buf[pos++] = HEX.charCodeAt((c >> 8) & 15)
  buf[pos++] = HEX.charCodeAt((c >> 4) & 15)
  buf[pos++] = HEX.charCodeAt(c & 15)
  return pos
}
