/**
 * Operator schemas as data: torch's `FunctionSchema` text (what `str(op._schema)` prints) parsed into a small
 * structure, printed back canonically, and used the way torch.export's serializer uses `op._schema`:
 *
 * - a node's `target` is `torch.ops.<ns>.<name>.<overload>` ({@link targetOf});
 * - its `inputs` are `NamedArgument`s named after the schema's arguments ({@link namedArguments}, the walk of
 *   `serialize_inputs`: an argument given as a kwarg is `kind: 2`, one given positionally `kind: 1`, one not
 *   given is omitted);
 * - its `outputs` follow the returns ({@link returnShape}: `-> Tensor[]` is one `as_tensors`, a tuple is one
 *   Argument per element).
 *
 * trtx has no live torch, so the schemas of the operators it writes itself are here as text ({@link builtin}).
 *
 * The grammar is that of `torch/csrc/jit/frontend/function_schema_parser.cpp` and `schema_type_parser.cpp`:
 *
 * ```
 * schema   := ns "::" name ["." overload] "(" [arg ("," arg)*] ")" "->" returns
 * arg      := "*" | "..." | type ident ["=" default]
 * returns  := "..." | "(" [ret ("," ret)*] ")" | ret          ret := type [ident]
 * type     := ( "(" [type ("," type)*] ")"                     tuple
 *             | ("Dict" | "Union" | "Future" | "Await" | "RRef") "(" type ("," type)* ")" [alias]
 *             | "__torch__" "." "torch" "." "classes" "." ns "." Class
 *             | base [alias] )
 *             ( "[" [N] "]" [alias] | "?" )*
 * alias    := "(" set ("|" set)* ["!"] ["->" set ("|" set)*] ")"        set := ident | "*"
 * default  := number | "-" number | string | ident | "-" ident | "[" [default ("," default)*] "]"
 * ```
 *
 * `base` is one of torch's base type names, or a lower-case type variable (`t`, `tVal`). Defaults are kept as
 * their source text (torch prints them from IValues: `1.0000000000000001e-05`, `"none"`, `[]`, `0`), so that
 * printing a parsed torch schema gives back the very same text.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"

// ===== Models =====

/**
 * An alias annotation: `(a)`, `(a!)`, `(a -> *)`, `(b|a)`. `after` equals `before` when no `->` was written.
 * @since 0.1.0 @category models
 */
export interface AliasInfo {
  readonly before: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
  readonly isWrite: boolean
}

/**
 * A schema type. `Named` is a base type (`Tensor`, `int`, `SymInt`, `ScalarType`, a type variable `t`, a custom
 * class `__torch__.torch.classes.tensorrt.Engine`) or a generic one with `args` (`Dict(str, t)`); `List` is
 * `T[]` or the sized `T[N]`; `Optional` is `T?`; `Tuple` is `(T, U)`. An alias annotation sits where it was
 * written: on a `Named` (`Tensor(a!)`) or on a `List` (`t[](a)`).
 * @since 0.1.0 @category models
 */
export type SchemaType =
  | {
    readonly _tag: "Named"
    readonly name: string
    readonly args: ReadonlyArray<SchemaType>
    readonly alias?: AliasInfo
  }
  | { readonly _tag: "List"; readonly element: SchemaType; readonly size?: number; readonly alias?: AliasInfo }
  | { readonly _tag: "Optional"; readonly element: SchemaType }
  | { readonly _tag: "Tuple"; readonly elements: ReadonlyArray<SchemaType> }

/**
 * A schema argument. `default` is the default's source text (`None`, `1`, `"none"`, `[]`); `mutable` is set
 * when an alias annotation of the type is a write (`Tensor(a!)`, `Tensor(a!)[]`).
 * @since 0.1.0 @category models
 */
export interface SchemaArgument {
  readonly name: string
  readonly type: SchemaType
  readonly kwargOnly: boolean
  readonly default?: string
  readonly mutable: boolean
}

/** A schema return, named in `-> (Tensor values, Tensor indices)`. @since 0.1.0 @category models */
export interface SchemaReturn {
  readonly name?: string
  readonly type: SchemaType
}

/**
 * A parsed operator schema. `overload` is `""` for the default overload. `isVararg`/`isVarret` are the `...`
 * of TorchScript-only schemas (never in exported programs).
 * @since 0.1.0 @category models
 */
export interface OpSchema {
  readonly namespace: string
  readonly name: string
  readonly overload: string
  readonly arguments: ReadonlyArray<SchemaArgument>
  readonly returns: ReadonlyArray<SchemaReturn>
  readonly isVararg: boolean
  readonly isVarret: boolean
}

/** One `NamedArgument` of a node's `inputs`: `kind` 1 is positional, 2 keyword. @since 0.1.0 @category models */
export interface NamedArgument<T> {
  readonly name: string
  readonly value: T
  readonly kind: 1 | 2
}

/** Operator schemas by target (`torch.ops.aten.add.Tensor`). @since 0.1.0 @category models */
export type OpSchemas = ReadonlyMap<string, OpSchema>

// ===== Errors =====

/**
 * Why a schema or a call is refused: `Syntax` for schema text; the others for {@link namedArguments}.
 * @since 0.1.0 @category errors
 */
export const OpSchemaErrorReason = Schema.Literals([
  "Syntax", // the schema text does not parse
  "TooManyPositional", // more positional values than positional (non kwarg-only) arguments
  "UnknownKeyword", // a kwarg that names no argument
  "DuplicateArgument", // an argument given both positionally and as a kwarg
  "MissingArgument" // an argument without default given neither way
])

/** @since 0.1.0 @category errors */
export type OpSchemaErrorReason = typeof OpSchemaErrorReason.Type

/**
 * A schema fault located in the schema text: for `Syntax`, the offset in the text that was parsed; for the
 * binding reasons, the offset in the printed schema of the argument concerned (or of the `*, ` or `)` that
 * closes the positional or the whole argument list).
 * @since 0.1.0 @category errors
 */
export class OpSchemaError extends Schema.TaggedError<OpSchemaError>()("OpSchemaError", {
  reason: OpSchemaErrorReason,
  schema: Schema.String,
  offset: Schema.Int,
  detail: Schema.String
}) {
  /**
   * `reason at offset: detail in schema`, on one line: a message is quoted inside others and printed as one
   * line, so the caret under the offset is drawn by whoever shows the schema on a line of its own.
   */
  override get message(): string {
    return `${this.reason} at ${this.offset}: ${this.detail} in ${this.schema}`
  }
}

// ===== Parser =====

/** Base type names of torch's `SchemaTypeParser::parseBaseType` (plus those its callers special-case). */
const BASE_TYPES: ReadonlySet<string> = new Set([
  "Tensor", "Scalar", "ScalarType", "Layout", "MemoryFormat", "Device", "Generator", "Dimname", "Storage", "Stream",
  "QScheme", "ConstQuantizerPtr", "int", "SymInt", "float", "SymFloat", "bool", "SymBool", "complex", "str", "None",
  "NoneType", "Capsule", "Any", "AnyClassType", "AnyEnumType", "PyObject"
])
/** Generic types and their argument counts (`Union` takes one or more). */
const GENERICS: ReadonlyMap<string, number> = new Map([
  ["Dict", 2],
  ["Union", -1],
  ["Future", 1],
  ["Await", 1],
  ["RRef", 1]
])

class Fail {
  readonly offset: number
  readonly detail: string
  constructor(offset: number, detail: string) {
    this.offset = offset
    this.detail = detail
  }
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y
const NUMBER = /[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?j?|\.[0-9]+(?:[eE][+-]?[0-9]+)?j?/y
const DIGITS = /[0-9]+/y

const parser = (src: string) => {
  let pos = 0
  const ws = () => {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++
  }
  const fail = (detail: string, at = (ws(), pos)): never => {
    throw new Fail(at, detail)
  }
  const peek = (s: string) => (ws(), src.startsWith(s, pos))
  const eat = (s: string) => peek(s) && ((pos += s.length), true)
  const describe = () => (pos >= src.length ? "end of input" : JSON.stringify(src.slice(pos, pos + 8)))
  const expect = (s: string) => {
    if (!eat(s)) fail(`expected '${s}', found ${describe()}`)
  }
  const match = (re: RegExp): string | undefined => {
    ws()
    re.lastIndex = pos
    const m = re.exec(src)
    if (m === null) return undefined
    pos += m[0].length
    return m[0]
  }
  const ident = (what = "an identifier") => match(IDENT) ?? fail(`expected ${what}, found ${describe()}`)
  const sepBy = <A>(item: () => A, sep = ","): Array<A> => {
    const out = [item()]
    while (eat(sep)) out.push(item())
    return out
  }

  const aliasSet = () => (eat("*") ? "*" : ident("an alias set"))
  const alias = (): AliasInfo | undefined => {
    if (!eat("(")) return undefined
    const before = sepBy(aliasSet, "|")
    const isWrite = eat("!")
    const after = eat("->") ? sepBy(aliasSet, "|") : before
    expect(")")
    return { before, after, isWrite }
  }
  const named = (name: string, args: ReadonlyArray<SchemaType>): SchemaType => {
    const a = alias()
    return a === undefined ? { _tag: "Named", name, args } : { _tag: "Named", name, args, alias: a }
  }

  const type = (): SchemaType => {
    let t: SchemaType
    const start = (ws(), pos)
    if (eat("(")) {
      t = { _tag: "Tuple", elements: peek(")") ? [] : sepBy(type) }
      expect(")")
    } else {
      const name = ident("a type")
      const arity = GENERICS.get(name)
      if (arity !== undefined) {
        expect("(")
        const args = sepBy(type)
        if (arity > 0 && args.length !== arity) fail(`${name} takes ${arity} type argument(s), found ${args.length}`, start)
        expect(")")
        t = named(name, args)
      } else if (name === "__torch__") {
        const parts = [name]
        while (eat(".")) parts.push(ident("a class path component"))
        if (parts.length !== 5 || parts[1] !== "torch" || parts[2] !== "classes") {
          fail("a custom class type is __torch__.torch.classes.<namespace>.<Class>", start)
        }
        t = { _tag: "Named", name: parts.join("."), args: [] }
      } else if (BASE_TYPES.has(name) || /^[a-z]/.test(name)) {
        // A lower-case name that is no base type is a type variable, as for torch's parser: torch 2.11's
        // registry holds `cuda::_set_device(int64_t val)`, whose `int64_t` is one.
        t = named(name, [])
      } else {
        t = fail(`unknown type '${name}'`, start)
      }
    }
    for (;;) {
      if (eat("[")) {
        const n = match(DIGITS)
        expect("]")
        const a = alias()
        t = {
          _tag: "List",
          element: t,
          ...(n === undefined ? {} : { size: Number(n) }),
          ...(a === undefined ? {} : { alias: a })
        }
      } else if (eat("?")) {
        t = { _tag: "Optional", element: t }
      } else {
        return t
      }
    }
  }

  const string = () => {
    const quote = src[pos]!
    let i = pos + 1
    while (i < src.length && src[i] !== quote) i += src[i] === "\\" ? 2 : 1
    if (i >= src.length) fail("unterminated string")
    pos = i + 1
  }
  const value = (): void => {
    ws()
    if (eat("[")) {
      if (eat("]")) return
      sepBy(value)
      expect("]")
    } else if (src[pos] === "\"" || src[pos] === "'") {
      string()
    } else {
      eat("-")
      if (match(NUMBER) === undefined && match(IDENT) === undefined) fail(`expected a default value, found ${describe()}`)
    }
  }

  // Argument names are not checked for repeats: torch's parser does not (its registry holds
  // `static_runtime::clamp_nan_to_num(..., float? posinf, float? posinf)`).
  const argument = (kwargOnly: boolean): SchemaArgument => {
    const t = type()
    const name = ident("an argument name")
    const base = { name, type: t, kwargOnly, mutable: isWrite(t) }
    if (!eat("=")) return base
    const start = (ws(), pos)
    value()
    return { ...base, default: src.slice(start, pos) }
  }
  const ret = (): SchemaReturn => {
    const t = type()
    const name = match(IDENT)
    return name === undefined ? { type: t } : { name, type: t }
  }

  const schema = (): OpSchema => {
    const namespace = ident("an operator namespace")
    expect("::")
    const name = ident("an operator name")
    let overload = ""
    if (eat(".")) {
      const at = pos
      overload = ident("an overload name")
      if (overload === "default" || overload.startsWith("__")) fail(`'${overload}' is not a legal overload name`, at)
    }
    expect("(")
    const args: Array<SchemaArgument> = []
    let kwargOnly = false
    let isVararg = false
    if (!eat(")")) {
      sepBy(() => {
        if (isVararg) fail("'...' must be the last element of the argument list")
        if (eat("*")) {
          if (kwargOnly) fail("a second '*'", pos - 1)
          kwargOnly = true
        } else if (eat("...")) {
          isVararg = true
        } else {
          args.push(argument(kwargOnly))
        }
      })
      expect(")")
    }
    expect("->")
    const returns: Array<SchemaReturn> = []
    let isVarret = false
    if (eat("...")) {
      isVarret = true
    } else if (eat("(")) {
      if (!eat(")")) {
        sepBy(() => {
          if (isVarret) fail("'...' must be the last return")
          if (eat("...")) isVarret = true
          else returns.push(ret())
        })
        expect(")")
      }
    } else {
      returns.push(ret())
    }
    ws()
    if (pos < src.length) fail(`unexpected ${describe()} after the returns`)
    return { namespace, name, overload, arguments: args, returns, isVararg, isVarret }
  }
  return schema
}

/**
 * Parses a schema string (`aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor`).
 * @since 0.1.0 @category parsing
 */
export const parse = (text: string): Result.Result<OpSchema, OpSchemaError> => {
  try {
    return Result.succeed(parser(text)())
  } catch (e) {
    if (e instanceof Fail) {
      return Result.fail(new OpSchemaError({ reason: "Syntax", schema: text, offset: e.offset, detail: e.detail }))
    }
    throw e
  }
}

/**
 * {@link parse}, throwing the {@link OpSchemaError}: for schema text known to be valid (constants, tests).
 * @since 0.1.0 @category parsing
 */
export const parseUnsafe = (text: string): OpSchema => {
  const r = parse(text)
  if (Result.isFailure(r)) throw r.failure
  return r.success
}

// ===== Printer =====

const sameSets = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((s) => b.includes(s))

const printAlias = (a: AliasInfo | undefined): string =>
  a === undefined ? "" : `(${a.before.join("|")}${a.isWrite ? "!" : ""}${
    sameSets(a.before, a.after) ? "" : ` -> ${a.after.join("|")}`
  })`

/**
 * A type as torch prints it: `Tensor(a!)`, `Tensor?[]`, `int[2]`, `(float, float)`, `Dict(str, t)`.
 * @since 0.1.0 @category printing
 */
export const printType = (t: SchemaType): string => {
  switch (t._tag) {
    case "Named":
      return `${t.name}${t.args.length > 0 ? `(${t.args.map(printType).join(", ")})` : ""}${printAlias(t.alias)}`
    case "List":
      return `${printType(t.element)}[${t.size ?? ""}]${printAlias(t.alias)}`
    case "Optional":
      return `${printType(t.element)}?`
    case "Tuple":
      return `(${t.elements.map(printType).join(", ")})`
  }
}

const printArgument = (a: SchemaArgument) =>
  `${printType(a.type)} ${a.name}${a.default === undefined ? "" : `=${a.default}`}`
const printReturn = (r: SchemaReturn) => `${printType(r.type)}${r.name === undefined ? "" : ` ${r.name}`}`

/** The printed schema, with the offset of each argument, of the `*, ` marker and of the `)` closing them. */
const layout = (s: OpSchema) => {
  let text = `${s.namespace}::${s.name}${s.overload === "" ? "" : `.${s.overload}`}(`
  const offsets: Array<number> = []
  let star: number | undefined
  s.arguments.forEach((a, i) => {
    if (i > 0) text += ", "
    if (a.kwargOnly && star === undefined) {
      star = text.length
      text += "*, "
    }
    offsets.push(text.length)
    text += printArgument(a)
  })
  if (s.isVararg) text += `${s.arguments.length > 0 ? ", " : ""}...`
  const close = text.length
  let paren = !((s.returns.length === 1 && !s.isVarret) || (s.returns.length === 0 && s.isVarret))
  if (!paren && s.returns.length === 1 && printReturn(s.returns[0]!).startsWith("(")) paren = true
  const rets = s.returns.map(printReturn).join(", ") + (s.isVarret ? `${s.returns.length > 0 ? ", " : ""}...` : "")
  text += `) -> ${paren ? `(${rets})` : rets}`
  return { text, offsets, star: star ?? close, close }
}

/**
 * A schema as torch's `operator<<(ostream&, const FunctionSchema&)` prints it (so `print(parse(s)) === s` for
 * every `str(op._schema)`): `*, ` before the first kwarg-only argument, parentheses around the returns unless
 * there is exactly one that does not itself start with `(`.
 * @since 0.1.0 @category printing
 */
export const print = (schema: OpSchema): string => layout(schema).text

// ===== Helpers =====

const isWrite = (t: SchemaType): boolean => {
  switch (t._tag) {
    case "Named":
      return t.alias?.isWrite === true || t.args.some(isWrite)
    case "List":
      return t.alias?.isWrite === true || isWrite(t.element)
    case "Optional":
      return isWrite(t.element)
    case "Tuple":
      return t.elements.some(isWrite)
  }
}

/**
 * The qualified name torch.export writes as a node's `target`: `torch.ops.<ns>.<name>.<overload>`, with
 * `default` for the default overload.
 * @since 0.1.0 @category getters
 */
export const targetOf = (schema: OpSchema): string =>
  `torch.ops.${schema.namespace}.${schema.name}.${schema.overload === "" ? "default" : schema.overload}`

/** Whether the operator writes to an argument (torch's `FunctionSchema.is_mutable`). @since 0.1.0 @category getters */
export const isMutable = (schema: OpSchema): boolean => schema.arguments.some((a) => a.mutable)

/**
 * The base name of a type under its lists and optionals: `Tensor` for `Tensor(a)?[]`.
 * @since 0.1.0 @category getters
 */
export const baseName = (t: SchemaType): string =>
  t._tag === "Named" ? t.name : t._tag === "Tuple" ? "Tuple" : baseName(t.element)

const isTensor = (t: SchemaType) => t._tag === "Named" && t.name === "Tensor"

/**
 * Whether the schema returns exactly one `Tensor[]` (torch's `_is_single_tensor_list_return`, e.g.
 * `tensorrt::execute_engine`): the node's outputs are then one `as_tensors`, named after its getitem users.
 * @since 0.1.0 @category getters
 */
export const returnsList = (schema: OpSchema): boolean =>
  schema.returns.length === 1 && schema.returns[0]!.type._tag === "List" && isTensor(schema.returns[0]!.type.element)

/**
 * How the serializer encodes a node's outputs: `none` (`-> ()`, no outputs), `list` (see {@link returnsList}),
 * `single` (one return: one Argument named after the node), `tuple` (one Argument per return, each named after
 * the getitem of its index).
 * @since 0.1.0 @category getters
 */
export const returnShape = (schema: OpSchema): "none" | "single" | "list" | "tuple" =>
  schema.returns.length === 0 ? "none" : returnsList(schema) ? "list" : schema.returns.length === 1 ? "single" : "tuple"

/** The argument names, in schema order. @since 0.1.0 @category getters */
export const argumentNames = (schema: OpSchema): ReadonlyArray<string> => schema.arguments.map((a) => a.name)

// ===== Arguments =====

/**
 * The `inputs` of a node calling the operator with `args` and `kwargs`, exactly as torch's serializer writes
 * them: walk the schema's arguments; one in `kwargs` is `kind: 2`; otherwise one that is not kwarg-only and
 * whose index is below `args.length` is `kind: 1`; the rest are omitted (defaults are never written). The
 * `kind: 1` arguments are therefore always the leading ones, with no gap, which is what the deserializer needs
 * (it appends them to `args` in order).
 *
 * Fails when `args` outnumber the positional arguments, a kwarg names no argument, an argument is given both
 * ways, or an argument without default is not given at all (torch's deserializer would refuse that node).
 * @since 0.1.0 @category getters
 */
export const namedArguments = <T>(
  schema: OpSchema,
  args: ReadonlyArray<T>,
  kwargs: Readonly<Record<string, T>> | ReadonlyMap<string, T> = {}
): Result.Result<Array<NamedArgument<T>>, OpSchemaError> => {
  // Once per node of a program written: no map, set or list made for a call without keyword arguments.
  const kw: ReadonlyMap<string, T> = kwargs instanceof Map
    ? kwargs
    : hasOwnKeys(kwargs) ? new Map(Object.entries(kwargs)) : NO_KWARGS
  const { positional, byName } = shapeOf(schema)
  if (args.length > positional) {
    const detail = `${targetOf(schema)} takes ${positional} positional argument(s), got ${args.length}`
    return argumentFault(schema, "TooManyPositional", detail, (l) => positional < schema.arguments.length ? l.star : l.close)
  }
  if (kw.size > 0) {
    for (const key of kw.keys()) {
      if (!byName.has(key)) return argumentFault(schema, "UnknownKeyword", `${targetOf(schema)} has no argument '${key}'`, (l) => l.close)
    }
  }
  const out: Array<NamedArgument<T>> = []
  for (let i = 0; i < schema.arguments.length; i++) {
    const a = schema.arguments[i]!
    const byPosition = !a.kwargOnly && i < args.length
    if (kw.size > 0 && kw.has(a.name)) {
      if (byPosition) {
        const detail = `${targetOf(schema)}: '${a.name}' given both positionally and as a kwarg`
        return argumentFault(schema, "DuplicateArgument", detail, (l) => l.offsets[i]!)
      }
      out.push({ name: a.name, value: kw.get(a.name)!, kind: 2 })
    } else if (byPosition) {
      out.push({ name: a.name, value: args[i]!, kind: 1 })
    } else if (a.default === undefined) {
      const detail = `${targetOf(schema)}: '${a.name}' has no default and is not given`
      return argumentFault(schema, "MissingArgument", detail, (l) => l.offsets[i]!)
    }
  }
  return Result.succeed(out)
}

// A refusal of a call of `schema`, located in its printed text by `at`.
const argumentFault = <A>(
  schema: OpSchema,
  reason: OpSchemaErrorReason,
  detail: string,
  at: (l: ReturnType<typeof layout>) => number
): Result.Result<A, OpSchemaError> => {
  const where = layout(schema)
  return Result.fail(new OpSchemaError({ reason, schema: where.text, offset: at(where), detail }))
}

const NO_KWARGS: ReadonlyMap<never, never> = new Map<never, never>()

const hasOwnKeys = (o: object): boolean => {
  for (const k in o) if (Object.hasOwn(o, k)) return true
  return false
}

// Per schema (schemas are immutable): its count of positional arguments and its arguments by name.
const shapes = new WeakMap<OpSchema, { readonly positional: number; readonly byName: ReadonlyMap<string, SchemaArgument> }>()
const shapeOf = (schema: OpSchema) => {
  let shape = shapes.get(schema)
  if (shape === undefined) {
    shape = { positional: schema.arguments.filter((a) => !a.kwargOnly).length, byName: new Map(schema.arguments.map((a) => [a.name, a])) }
    shapes.set(schema, shape)
  }
  return shape
}

/**
 * The schema's argument of a name, or undefined: found in a table made once per schema, not per call.
 *
 * @since 0.1.0
 * @category getters
 */
export const argumentNamed = (schema: OpSchema, name: string): SchemaArgument | undefined => shapeOf(schema).byName.get(name)

// ===== Registry =====

/**
 * A registry of schemas by target; a later schema for the same target replaces an earlier one.
 * @since 0.1.0 @category registry
 */
export const registry = (schemas: Iterable<OpSchema>): OpSchemas => new Map([...schemas].map((s) => [targetOf(s), s]))

/** Parses schema strings into a registry, failing on the first that does not parse. @since 0.1.0 @category registry */
export const parseAll = (texts: Iterable<string>): Result.Result<OpSchemas, OpSchemaError> => {
  const out: Array<OpSchema> = []
  for (const text of texts) {
    const r = parse(text)
    if (Result.isFailure(r)) return Result.fail(r.failure)
    out.push(r.success)
  }
  return Result.succeed(registry(out))
}

/**
 * `tensorrt::execute_engine`, registered by Torch-TensorRT's C++ runtime (`TORCH_LIBRARY(tensorrt, m)`),
 * identical at the seed and HEAD.
 * @since 0.1.0 @category registry
 */
export const EXECUTE_ENGINE_SCHEMA =
  "tensorrt::execute_engine(Tensor[] input_tensors, __torch__.torch.classes.tensorrt.Engine engine) -> Tensor[]"

/**
 * `tensorrt::no_op_placeholder_for_execute_engine` as the seed (v2.10) registers it through `custom_op`: the
 * inputs, then the ten fields of an ABI "7" engine record, all `str`.
 * @since 0.1.0 @category registry
 */
export const NO_OP_PLACEHOLDER_SCHEMA = "tensorrt::no_op_placeholder_for_execute_engine(Tensor[] inputs, " +
  "str abi_version, str name, str serialized_device_info, str serialized_engine, str serialized_in_binding_names, " +
  "str serialized_out_binding_names, str serialized_hardware_compatible, str serialized_metadata, " +
  "str serialized_target_platform, str serialized_require_output_allocator) -> Tensor[]"

/**
 * `aten::scalar_tensor` (native_functions.yaml), which trtx uses to pass a scalar into an engine.
 * @since 0.1.0 @category registry
 */
export const SCALAR_TENSOR_SCHEMA =
  "aten::scalar_tensor(Scalar s, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor"

/**
 * `aten::item` (native_functions.yaml), which trtx uses to read a scalar engine output back.
 * @since 0.1.0 @category registry
 */
export const ITEM_SCHEMA = "aten::item(Tensor self) -> Scalar"

/** The schemas of the operators trtx itself puts into graphs, by target. @since 0.1.0 @category registry */
export const builtin: OpSchemas = registry(
  [EXECUTE_ENGINE_SCHEMA, NO_OP_PLACEHOLDER_SCHEMA, SCALAR_TENSOR_SCHEMA, ITEM_SCHEMA].map(parseUnsafe)
)
