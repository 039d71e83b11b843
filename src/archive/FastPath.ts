/**
 * A fast path for decoding and encoding with a Schema: plain functions compiled from the schema's AST that
 * give the schema's own result for the inputs they can decide, and hand every other input back to the schema.
 *
 * The schemas stay the definition of the formats. Effect's interpreter runs each node as an Effect and builds
 * an issue for every refusal it may report; for a 100k-node program that is most of the time of a read or a
 * write. The functions here walk the same AST with the same rules (the same checks and transformations are
 * called, not re-implemented) and return the decoded value, or {@link fallback} where they cannot answer with
 * certainty: an input the schema refuses, or a node they do not model. The caller then runs the schema
 * itself, so that every refusal, its message and its JSON path are the schema's. A property test holds the
 * two to the same output over valid and broken records (`test/archive/FastPath.test.ts`).
 *
 * What is modelled: keywords, literals, structs (required and optional keys), records of string keys, tuples
 * of required elements and arrays, `anyOf` unions, suspensions, checks, and transformations whose getters
 * are synchronous. The default parse options are assumed (first error, excess keys ignored): they are the
 * only ones trtx decodes with.
 *
 * @since 0.1.0
 */
import { Exit, Option, SchemaAST } from "effect"
import type { Schema } from "effect"

// ===== Models =====

/**
 * What a fast decoder returns where the schema must decide.
 *
 * @since 0.1.0
 * @category models
 */
export const fallback: unique symbol = Symbol.for("trtx/FastPath/fallback")

// Three outcomes below the root: a value, a refusal the schema makes too (a union then tries its next
// member), or no answer (the whole decode goes to the schema). An absent key is `MISSING`, as the schema's
// `missing`: a node passes it through, and the struct decides whether its key may be absent.
const INVALID = Symbol("invalid")
const UNKNOWN = Symbol("unknown")
const MISSING = Symbol("missing")

type Decoder = (input: unknown) => unknown

const isSentinel = (v: unknown): boolean => v === INVALID || v === UNKNOWN

// The default parse options, the only ones modelled: the first issue ends a decode, excess keys are dropped.
const OPTIONS: SchemaAST.ParseOptions = {}

// ===== Compiling =====

const compiled = new WeakMap<SchemaAST.AST, Decoder | null>()

// The decoder of a node, or null where the node (or one below it) is not modelled. A suspension is compiled
// through a forwarder that is in the cache before its target is compiled, so that recursive schemas close.
const compile = (ast: SchemaAST.AST): Decoder | null => {
  const cached = compiled.get(ast)
  if (cached !== undefined) return cached
  let target: Decoder = () => UNKNOWN
  compiled.set(ast, (input) => target(input))
  const decoder = withEncoding(ast)
  compiled.set(ast, decoder)
  if (decoder !== null) target = decoder
  return decoder
}

// A node with its encoding: the encoded side is decoded first, then each link's transformation, as the
// interpreter applies them, then the node's own type and checks.
const withEncoding = (ast: SchemaAST.AST): Decoder | null => {
  const local = withChecks(ast)
  const links = ast.encoding
  if (local === null || links === undefined) return local
  const parsers: Array<Decoder> = []
  const transforms: Array<Decoder> = []
  for (const link of links) {
    const parser = compile(link.to)
    const transform = getter(link.transformation)
    if (parser === null || transform === null) return null
    parsers.push(parser)
    transforms.push(transform)
  }
  return (input) => {
    let value = parsers[parsers.length - 1]!(input)
    for (let i = links.length - 1; i >= 0; i--) {
      if (isSentinel(value)) return value
      value = transforms[i]!(value)
      if (i !== 0 && !isSentinel(value)) value = parsers[i - 1]!(value)
    }
    return isSentinel(value) ? value : local(value)
  }
}

// A transformation's decoding getter. Getters return Effects; an Effect that is not already an Exit (a
// default computed lazily, say) cannot be run here, and neither can middleware.
const getter = (transformation: SchemaAST.Link["transformation"]): Decoder | null => {
  if (transformation._tag === "Middleware") return null
  const get = transformation.decode
  const options = OPTIONS
  switch (get._tag) {
    case "Passthrough":
      return (v) => v
    case "Transform":
      return (v) => v === MISSING ? MISSING : get.transform(v)
    case "TransformOptional":
      return (v) => fromOption(get.transform(toOption(v)))
    case "TransformEffect":
      return (v) => v === MISSING ? MISSING : fromExit(get.transform(v, options), (x) => x)
    case "TransformOptionalEffect":
      return (v) => fromExit(get.transform(toOption(v), options), fromOption)
    default:
      return null
  }
}

const toOption = (v: unknown): Option.Option<unknown> => v === MISSING ? Option.none() : Option.some(v)
const fromOption = (o: Option.Option<unknown>): unknown => Option.isSome(o) ? o.value : MISSING
// A success is taken as it is, unless it holds a symbol: the interpreter's own markers are symbols (an
// unchanged input is a success holding one), and no record holds a symbol. A failure is left to the schema,
// which tells an issue from a defect.
const fromExit = <A>(effect: unknown, f: (a: A) => unknown): unknown =>
  Exit.isExit(effect) && Exit.isSuccess(effect) && typeof effect.value !== "symbol" ? f(effect.value as A) : UNKNOWN

// Whether a check of `checks` (or of a group among them) finds an issue with `value`, as the interpreter
// runs them under the default options: in order, until the first issue.
// Indexed loops here and in `union`: they run for every checked value, most of them in code not yet optimized,
// where `for...of` makes an iterator and a result object per step.
const fails = (checks: SchemaAST.Checks, value: unknown, ast: SchemaAST.AST): boolean => {
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!
    if (check._tag === "FilterGroup" ? fails(check.checks, value, ast) : check.run(value, ast, OPTIONS)) return true
  }
  return false
}

// A node's type and its checks. A failed check is a refusal.
const withChecks = (ast: SchemaAST.AST): Decoder | null => {
  const base = typeDecoder(ast)
  if (base === null) return null
  const checks = ast.checks
  const encodingChecks = "encodingChecks" in ast ? ast.encodingChecks as SchemaAST.Checks | undefined : undefined
  if (checks === undefined && encodingChecks === undefined) return base
  return (input) => {
    const value = base(input)
    if (isSentinel(value) || value === MISSING || input === MISSING) return value
    if (encodingChecks !== undefined && fails(encodingChecks, input, ast)) return INVALID
    if (checks !== undefined && fails(checks, value, ast)) return INVALID
    return value
  }
}

const refinement = (is: (input: unknown) => boolean): Decoder => (input) =>
  input === MISSING ? MISSING : is(input) ? input : INVALID

const typeDecoder = (ast: SchemaAST.AST): Decoder | null => {
  switch (ast._tag) {
    case "String":
      return refinement((u) => typeof u === "string")
    case "Number":
      return refinement((u) => typeof u === "number")
    case "Boolean":
      return refinement((u) => typeof u === "boolean")
    case "BigInt":
      return refinement((u) => typeof u === "bigint")
    case "Null":
      return refinement((u) => u === null)
    case "Undefined":
      return refinement((u) => u === undefined)
    case "Unknown":
    case "Any":
      return refinement(() => true)
    case "Literal": {
      const literal = ast.literal
      return refinement((u) => u === literal)
    }
    case "Objects":
      return objects(ast)
    case "Arrays":
      return arrays(ast)
    case "Union":
      return union(ast)
    case "Suspend":
      return suspend(ast)
    case "Declaration":
      return declaration(ast)
    default:
      return null
  }
}

// The target of a suspension, through `compile`'s cache: recursion ends at the target's forwarder.
const suspend = (ast: SchemaAST.Suspend): Decoder | null => compile(ast.thunk())

// A declaration of no type parameters (`Schema.declare(is)`): its own parse function, run as the interpreter
// runs it. One with type parameters would decode them through the interpreter: not modelled.
const declaration = (ast: SchemaAST.Declaration): Decoder | null => {
  if (ast.typeParameters.length > 0) return null
  const options = OPTIONS
  let run: ReturnType<SchemaAST.Declaration["run"]> | undefined
  return (input) => input === MISSING ? MISSING : fromExit((run ??= ast.run(ast.typeParameters))(input, ast, options), (x) => x)
}

// A struct builds a new object of its declared keys, in their order, then the entries of its string-keyed
// records in the input's order (a declared key's value is held to the record's type too, and not copied
// again). Excess keys are dropped. An object with neither is the schema's "not nullish" check.
const objects = (ast: SchemaAST.Objects): Decoder | null => {
  const props = ast.propertySignatures
  const indexes = ast.indexSignatures
  if (props.length === 0 && indexes.length === 0) return refinement((u) => u !== null && u !== undefined)
  const names = props.map((p) => p.name)
  const optional = props.map((p) => SchemaAST.isOptional(p.type))
  const decoders: Array<Decoder> = []
  for (const p of props) {
    const d = compile(p.type)
    if (d === null) return null
    decoders.push(d)
  }
  const values: Array<Decoder> = []
  for (const index of indexes) {
    if (index.parameter._tag !== "String" || index.parameter.checks !== undefined) return null
    const d = compile(index.type)
    if (d === null) return null
    values.push(d)
  }
  if (values.length === 0 && names.every((n) => typeof n === "string" && n !== "__proto__")) {
    return struct(names as ReadonlyArray<string>, optional, props.map((p) => leafSource(leaf(p.type))), decoders)
  }
  const declared = new Set<PropertyKey>(names)
  if (decoders.length === 0 && values.length === 1) return leaf(indexes[0]!.type) === "any" ? anyRecord : record(values[0]!)
  return (input) => {
    if (input === MISSING) return MISSING
    if (typeof input !== "object" || input === null || Array.isArray(input)) return INVALID
    const record = input as Record<PropertyKey, unknown>
    const out: Record<PropertyKey, unknown> = {}
    for (let i = 0; i < decoders.length; i++) {
      const name = names[i]!
      const has = name === "__proto__" ? Object.hasOwn(record, name) : name in record
      const value = decoders[i]!(has ? record[name] : MISSING)
      if (isSentinel(value)) return value
      if (value === MISSING) {
        if (!optional[i]) return INVALID
      } else assign(out, name, value)
    }
    if (values.length > 0) {
      const keys = Object.keys(record)
      for (const decode of values) {
        for (const key of keys) {
          const value = decode(record[key])
          if (isSentinel(value)) return value
          if (value !== MISSING && !declared.has(key)) assign(out, key, value)
        }
      }
    }
    return out
  }
}

// A record of string keys (a node's metadata, a `_Union`'s one key): its entries in the input's order. The
// input itself is the value when it is a plain object each of whose values is its own decoding. Here and
// below, "its own" is `Object.is`: `===` takes -0 and 0 for one value, and a decoding may turn one into the other.
const record = (value: Decoder): Decoder => (input) => {
  if (input === MISSING) return MISSING
  if (typeof input !== "object" || input === null || Array.isArray(input)) return INVALID
  const entries = input as Record<string, unknown>
  const keys = Object.keys(entries)
  let out: Record<string, unknown> | undefined = Object.getPrototypeOf(input) === Object.prototype ? undefined : {}
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const element = entries[key]
    const decoded = value(element)
    if (isSentinel(decoded)) return decoded
    if (out === undefined && !Object.is(decoded, element)) {
      out = {}
      for (let j = 0; j < i; j++) assign(out, keys[j]!, entries[keys[j]!])
    }
    if (out !== undefined && decoded !== MISSING) assign(out, key, decoded)
  }
  return out ?? input
}

// A record whose values may be anything (a `_Union` before its one key is read): `record` of a value decoder
// that gives back every value, without a call per entry. A plain object is its own decoding.
const anyRecord: Decoder = (input) => {
  if (input === MISSING) return MISSING
  if (typeof input !== "object" || input === null || Array.isArray(input)) return INVALID
  if (Object.getPrototypeOf(input) === Object.prototype) return input
  const entries = input as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(entries)) assign(out, key, entries[key])
  return out
}

// A struct of string keys is the hot path of every large record (a node, its arguments, its metadata): its
// decoder is generated for its keys, so that each load and store names its key and stays monomorphic, where
// one closure shared by every struct would see every shape. Keys are emitted as JSON string literals and the
// values through the decoders passed in: no text of the schema is evaluated.
//
// The input itself is the value when it is what the struct would build: a plain object whose keys are the
// declared ones present, in their order, nothing else, each value its own decoding. Most records are (a
// parse's output read, the serializer's output written), and not copying them is most of what a decode or
// an encode would otherwise allocate.
const struct = (
  names: ReadonlyArray<string>,
  optional: ReadonlyArray<boolean>,
  tests: ReadonlyArray<string | undefined>,
  decoders: ReadonlyArray<Decoder>
): Decoder => {
  const n = names.length
  const locals = names.map((_, i) => `v${i}`)
  const lines = [
    "return function(input) {",
    "if (input === MISSING) return MISSING",
    "if (typeof input !== \"object\" || input === null || Array.isArray(input)) return INVALID",
    "let same = Object.getPrototypeOf(input) === OBJECT",
    `let v${n > 0 ? ", " + locals.join(", ") : ""}`
  ]
  names.forEach((name, i) => {
    const key = JSON.stringify(name)
    const local = locals[i]!
    lines.push(`v = ${key} in input ? input[${key}] : MISSING`)
    const test = tests[i]
    if (test !== undefined) lines.push(`if (v !== MISSING && !(${test})) return INVALID`, `${local} = v`)
    else lines.push(`${local} = d[${i}](v)`, `if (${local} === INVALID || ${local} === UNKNOWN) return ${local}`, `if (!Object.is(${local}, v)) same = false`)
    if (!optional[i]) lines.push(`if (${local} === MISSING) return INVALID`)
  })
  // The input's enumerable keys must be the present declared keys, in order, and nothing else (a bit of
  // `absent` per declared key; a struct of more keys than a mask holds is always copied).
  if (n <= 30) {
    lines.push(
      "if (same) {",
      `const absent = ${n > 0 ? locals.map((l, i) => `(${l} === MISSING ? ${2 ** i} : 0)`).join(" | ") : "0"}`,
      "let p = 0",
      "for (const k in input) {",
      `while (p < ${n} && (absent >> p) & 1) p++`,
      `if (p === ${n} || k !== NAMES[p]) { same = false; break }`,
      "p++",
      "}",
      `while (p < ${n} && (absent >> p) & 1) p++`,
      `if (same && p === ${n}) return input`,
      "}"
    )
  }
  lines.push("const out = {}")
  names.forEach((name, i) => {
    const key = JSON.stringify(name)
    lines.push(optional[i] ? `if (${locals[i]} !== MISSING) out[${key}] = ${locals[i]}` : `out[${key}] = ${locals[i]}`)
  })
  lines.push("return out", "}")
  const general = new Function("d", "MISSING", "INVALID", "UNKNOWN", "OBJECT", "NAMES", lines.join("\n"))(
    decoders,
    MISSING,
    INVALID,
    UNKNOWN,
    Object.prototype,
    names
  ) as Decoder
  return oneKey(names, optional, tests, decoders, general) ?? general
}

// A wide struct of optional keys is how a `_Union` of torch's schema is decoded (30 keys for an Argument), and
// its records hold one key. For a plain object of one own key, the decoder goes to that key's field at once,
// instead of asking the input for each declared key in turn; any other input goes to the general decoder.
// Not for a struct that declares a name of `Object.prototype`, which the general decoder finds on every
// object through `in`.
const oneKey = (
  names: ReadonlyArray<string>,
  optional: ReadonlyArray<boolean>,
  tests: ReadonlyArray<string | undefined>,
  decoders: ReadonlyArray<Decoder>,
  general: Decoder
): Decoder | null => {
  if (names.length < 8 || optional.some((o) => !o) || names.some((n) => n in Object.prototype)) return null
  const lines = [
    "return function(input) {",
    "if (input === MISSING) return MISSING",
    "if (typeof input !== \"object\" || input === null || Array.isArray(input) || Object.getPrototypeOf(input) !== OBJECT) return general(input)",
    "let key, count = 0",
    "for (const k in input) { if (++count > 1) return general(input); key = k }",
    "if (count === 0) return general(input)",
    "const r = input[key]",
    "let v",
    "switch (key) {"
  ]
  names.forEach((name, i) => {
    const key = JSON.stringify(name)
    const test = tests[i]
    lines.push(`case ${key}:`)
    if (test !== undefined) lines.push("v = r", `if (!(${test})) return INVALID`)
    else lines.push(`v = d[${i}](r)`, "if (v === INVALID || v === UNKNOWN) return v")
    lines.push("break")
  })
  lines.push(
    "default: return general(input)",
    "}",
    "if (Object.is(v, r)) return input",
    "const out = {}",
    "if (v !== MISSING) out[key] = v",
    "return out",
    "}"
  )
  return new Function("d", "MISSING", "INVALID", "UNKNOWN", "OBJECT", "general", lines.join("\n"))(
    decoders,
    MISSING,
    INVALID,
    UNKNOWN,
    Object.prototype,
    general
  ) as Decoder
}

// What a leaf takes: a keyword with no checks and no encoding (its `typeof`, null, or anything), a string or
// boolean literal, or an `anyOf` union of leaves, whose first member that decodes gives the input itself. A
// struct inlines a leaf's test in its source (`leafSource`); a union runs it as a predicate (`leafPredicate`),
// not compiled, since each compiled function is a script of its own to parse.
type Leaf = "any" | { readonly kinds: ReadonlyArray<string>; readonly values: ReadonlyArray<string | boolean | null> }

const leaf = (ast: SchemaAST.AST): Leaf | undefined => {
  if (ast.checks !== undefined || ast.encoding !== undefined) return undefined
  switch (ast._tag) {
    case "String":
    case "Number":
    case "Boolean":
    case "BigInt":
      return { kinds: [ast._tag.toLowerCase()], values: [] }
    case "Null":
      return { kinds: [], values: [null] }
    case "Unknown":
    case "Any":
      return "any"
    case "Literal":
      return typeof ast.literal === "string" || typeof ast.literal === "boolean" ? { kinds: [], values: [ast.literal] } : undefined
    case "Union":
      return membersLeaf(ast)
    default:
      return undefined
  }
}

// The leaf of a union's members, whatever the union's own checks (its decoder's `withChecks` runs them).
const membersLeaf = (ast: SchemaAST.Union): Leaf | undefined => {
  if (ast.options?.mode === "oneOf") return undefined
  const kinds: Array<string> = []
  const values: Array<string | boolean | null> = []
  for (const t of ast.types) {
    const l = leaf(t)
    if (l === undefined) return undefined
    if (l === "any") return "any"
    kinds.push(...l.kinds)
    values.push(...l.values)
  }
  return { kinds, values }
}

// A leaf's test as an expression of `v`.
const leafSource = (l: Leaf | undefined): string | undefined =>
  l === undefined
    ? undefined
    : l === "any"
    ? "true"
    : [...l.kinds.map((k) => `typeof v === ${JSON.stringify(k)}`), ...l.values.map((x) => `v === ${JSON.stringify(x)}`)].join(" || ") || "false"

const leafPredicate = (l: Leaf): (v: unknown) => boolean => {
  if (l === "any") return () => true
  const kinds = new Set(l.kinds)
  const values = new Set(l.values)
  return (v) => kinds.has(typeof v) || values.has(v as string | boolean | null)
}

// `__proto__` is data, as the schema keeps it.
const assign = (out: Record<PropertyKey, unknown>, key: PropertyKey, value: unknown): void => {
  if (key === "__proto__") Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true })
  else out[key] = value
}

// A tuple of required elements, an array, or a tuple followed by an array. Anything shorter than the tuple is
// left to the schema. An array all of whose elements are their own decoding is the value itself.
const arrays = (ast: SchemaAST.Arrays): Decoder | null => {
  if (ast.rest.length > 1 || ast.elements.some((e) => SchemaAST.isOptional(e))) return null
  const elements: Array<Decoder> = []
  for (const e of ast.elements) {
    const d = compile(e)
    if (d === null) return null
    elements.push(d)
  }
  const rest = ast.rest.length === 1 ? compile(ast.rest[0]!) : undefined
  if (rest === null) return null
  const fixed = elements.length
  return (input) => {
    if (input === MISSING) return MISSING
    if (!Array.isArray(input)) return INVALID
    const len = input.length
    if (len < fixed) return UNKNOWN
    if (rest === undefined && len > fixed) return INVALID
    // The input itself while every element is its own decoding; a copy from the first that is not.
    let out: Array<unknown> | undefined
    for (let i = 0; i < len; i++) {
      const element = input[i]
      const value = (i < fixed ? elements[i]! : rest!)(element)
      if (isSentinel(value)) return value
      if (value === MISSING) return UNKNOWN
      if (out !== undefined) out[i] = value
      else if (!Object.is(value, element)) {
        out = input.slice(0, i)
        out[i] = value
      }
    }
    return out ?? input
  }
}

// An `anyOf` union: its first member that decodes the input. A member that cannot answer leaves the union
// without one, since a later member's success would then not be certain to be the schema's.
const union = (ast: SchemaAST.Union): Decoder | null => {
  if (ast.options?.mode === "oneOf") return null
  // Leaves (`Number | BigInt`, a `NullOr` of a keyword, string literals): one test, not a call per member.
  const leaves = membersLeaf(ast)
  if (leaves !== undefined) return refinement(leafPredicate(leaves))
  const members: Array<Decoder> = []
  for (const t of ast.types) {
    const d = compile(t)
    if (d === null) return null
    members.push(d)
  }
  return (input) => {
    if (input === MISSING) return MISSING
    for (let i = 0; i < members.length; i++) {
      const value = members[i]!(input)
      if (value !== INVALID) return value
    }
    return INVALID
  }
}

// ===== Decoding =====

const root = (ast: SchemaAST.AST): Decoder => {
  const decoder = compile(ast)
  return (input) => {
    if (decoder === null) return fallback
    let value: unknown
    try {
      value = decoder(input)
    } catch {
      // A check or transformation that throws is the schema's to report (as a defect).
      return fallback
    }
    return isSentinel(value) || value === MISSING ? fallback : value
  }
}

const decoders = new WeakMap<SchemaAST.AST, Decoder>()
const cachedRoot = (ast: SchemaAST.AST): Decoder => {
  let d = decoders.get(ast)
  if (d === undefined) decoders.set(ast, d = root(ast))
  return d
}

/**
 * Decodes `input` as `Schema.decodeUnknownResult(schema)` would succeed with, or returns {@link fallback}:
 * the schema refuses the input, or this path cannot tell. Compiled once per schema.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (schema: Schema.Top, input: unknown): unknown => cachedRoot(schema.ast)(input)

/**
 * Encodes `value` as `Schema.encodeResult(schema)` would succeed with, or returns {@link fallback}.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (schema: Schema.Top, value: unknown): unknown => cachedRoot(SchemaAST.flip(schema.ast))(value)
