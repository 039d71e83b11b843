/**
 * The JSON records of a `.pt2` archive as torch 2.11 writes them, as Effect schemas: `models/model.json` (a
 * serialized `ExportedProgram`, schema version (8, 17)) and the two `PayloadConfig` files
 * (`data/weights/model_weights_config.json`, `data/constants/model_constants_config.json`). Decoding a record
 * is its validation; encoding gives the JSON that torch's loader reads.
 *
 * Field for field these are the dataclasses of `torch/_export/serde/schema.py`; the JSON rules are those of
 * `_dataclass_to_dict` / `_dict_to_dataclass` in `torch/_export/serde/serialize.py`
 * (`shared/spec/pt2-format.md` §2, §1.4–1.5):
 * - A dataclass is an object with its fields in declaration order. Unknown keys are ignored. A missing key
 *   takes the field's default where it has one ({@link ExportedProgram}'s `verifiers`, {@link Node}'s `name`,
 *   ...); without one, it is an error. Decoding fills every default in, and encoding writes every key, as
 *   torch 2.11 itself does.
 * - A union is an object with exactly one key, the variant's name: `{"as_tensor": {"name": "x"}}`. Each union
 *   is one struct of optional keys behind a check of the input's keys, rather than one schema member per
 *   variant, so that a fault is reported where it is: inside `{"as_float": ...}` at `.as_float`, a second or
 *   unknown key at the object or at that key.
 * - An enum is its int code ({@link ScalarType}, {@link Layout}, {@link MemoryFormat}, {@link ArgumentKind}).
 * - A float is a JSON number, or `"Infinity"`, `"-Infinity"`, `"NaN"`; decoded, it is a `number` ({@link JsonFloat}).
 * - An int is an int64. Torch writes `9223372036854775807` (the end of an open slice) as a bare JSON number,
 *   which `JSON.parse` rounds to 2^63; {@link Int64} takes a `bigint` for such values and refuses a number
 *   outside the safe-integer range, because it has already been rounded.
 *
 * @since 0.1.0
 */
import { Option, Result, Schema, SchemaGetter } from "effect"
import * as Json from "../Json.ts"
import * as TreeSpec from "../TreeSpec.ts"

// ===== Unions =====

/**
 * One of the variants of `F`: an object with exactly one of its keys (the others absent).
 *
 * @since 0.1.0
 * @category models
 */
export type OneOf<F> = {
  [K in keyof F]: { readonly [P in K]: F[P] } & { readonly [P in Exclude<keyof F, K>]?: never }
}[keyof F]

type TypeFields<F extends Schema.Struct.Fields> = { readonly [K in keyof F]: F[K]["Type"] }
type EncodedFields<F extends Schema.Struct.Fields> = { readonly [K in keyof F]: F[K]["Encoded"] }

// A `_Union` of schema.py: the input's keys are checked first (exactly one, and a known one), then the struct
// of optional keys decodes the one value, so that its faults are located under its key. Decoding visits every
// key of the union for each value (30 for an Argument): the valid records of a large program go through
// `FastPath`, which makes that a few property lookups, and only a refused one through the schema's interpreter.
const oneOf = <F extends Schema.Struct.Fields>(
  name: string,
  fields: F
): Schema.Codec<OneOf<TypeFields<F>>, OneOf<EncodedFields<F>>> => {
  const keys = Object.keys(fields)
  const known = new Set(keys)
  const optional: Record<string, Schema.Top> = {}
  for (const k of keys) optional[k] = Schema.optionalKey(fields[k]!)
  const expected = `one of the keys ${keys.join(", ")}`
  const article = /^[AEIOU]/.test(name) ? "an" : "a"
  return Schema.Record(Schema.String, Schema.Unknown).check(
    Schema.makeFilter((o) => {
      // Every union value of a program passes here: its keys are counted without an array of them.
      let count = 0
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue
        if (!known.has(k)) return { path: [k], issue: `not a variant of ${name}: expected ${expected}` }
        count++
      }
      if (count === 1) return undefined
      const present = Object.keys(o)
      return present.length === 0
        ? `an empty ${name}: expected ${expected}`
        : `${article} ${name} has exactly one key, found ${present.length}: ${present.join(", ")}`
    })
  ).pipe(
    Schema.decodeTo(Schema.Struct(optional) as unknown as Schema.Codec<unknown, { readonly [k: string]: unknown }>)
  ) as never
}

type VariantKey<U> = U extends unknown ? { [K in keyof U]-?: {} extends Pick<U, K> ? never : K }[keyof U] : never

/**
 * The key of a union value: the name of its variant (`"as_tensor"` for `{"as_tensor": {"name": "x"}}`).
 *
 * @since 0.1.0
 * @category getters
 */
export const variant = <U extends object>(u: U): VariantKey<U> => {
  for (const k in u) if (u[k] !== undefined) return k as unknown as VariantKey<U>
  throw new TypeError("a union value without a variant")
}

// ===== Scalars =====

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

// Python has no negative zero int, and the JSON writer keeps a `-0` as `-0.0`, a float, for the floats that
// have one: an int's `-0` (the text `-0` parses as one; arithmetic can make one) is the int 0, both ways.
const intZero = SchemaGetter.transform((v: number | bigint) => (v === 0 ? 0 : v))

/**
 * A Python int of the program (an argument, a size, a bound): a safe-integer `number`, or a `bigint` in int64
 * range for what a `number` cannot hold exactly. A `number` outside the safe range is refused: it was rounded
 * by the JSON parser (`9223372036854775807` parses as 2^63), so the JSON must be parsed with large integers as
 * `bigint` and written with them unrounded. A `-0` is read and written as `0`.
 *
 * @since 0.1.0
 * @category models
 */
export const Int64 = Schema.Union([Schema.Number, Schema.BigInt]).pipe(
  Schema.decodeTo(
    Schema.Union([Schema.Number, Schema.BigInt]).check(
      Schema.makeFilter((v) => {
        if (typeof v === "bigint") return (v >= INT64_MIN && v <= INT64_MAX) || "an integer in int64 range"
        if (Number.isSafeInteger(v)) return undefined
        return Number.isInteger(v)
          ? "an integer beyond 2^53 that a JSON parser has rounded: parse large integers as bigint"
          : "an integer"
      })
    ),
    { decode: intZero, encode: intZero }
  )
)
/** @since 0.1.0 @category models */
export type Int64 = typeof Int64.Type

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A Python float: on the wire a JSON number, or `"Infinity"`, `"-Infinity"`, `"NaN"` (torch writes with
 * `allow_nan=False`); decoded, any `number`.
 *
 * @since 0.1.0
 * @category models
 */
export const JsonFloat: Schema.Codec<number, number | "Infinity" | "-Infinity" | "NaN"> = Schema.Union([
  Schema.Finite,
  Schema.Literals(["Infinity", "-Infinity", "NaN"])
]).pipe(
  Schema.decodeTo(Schema.Number, {
    decode: SchemaGetter.transform((v: number | "Infinity" | "-Infinity" | "NaN") =>
      typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : -Infinity
    ),
    encode: SchemaGetter.transform((n: number) =>
      Number.isFinite(n) ? n : Number.isNaN(n) ? "NaN" as const : n > 0 ? "Infinity" as const : "-Infinity" as const
    )
  })
)

// ===== Enums =====

/**
 * `ScalarType`: every code of the schema's enum.
 *
 * @since 0.1.0
 * @category models
 */
export const ScalarType = {
  UNKNOWN: 0, BYTE: 1, CHAR: 2, SHORT: 3, INT: 4, LONG: 5, HALF: 6, FLOAT: 7, DOUBLE: 8, COMPLEXHALF: 9,
  COMPLEXFLOAT: 10, COMPLEXDOUBLE: 11, BOOL: 12, BFLOAT16: 13, UINT16: 28, FLOAT8E4M3FN: 29, FLOAT8E5M2: 30,
  FLOAT8E4M3FNUZ: 31, FLOAT8E5M2FNUZ: 32
} as const

/**
 * The code of each torch dtype that can be serialized, by its name without `torch.` (serialize.py's
 * `_TORCH_TO_SERIALIZE_DTYPE`). `uint32`, `uint64`, the float4 and e8m0 types have no code: torch cannot
 * write them.
 *
 * @since 0.1.0
 * @category models
 */
export const DTYPE_CODES = {
  uint8: 1, int8: 2, int16: 3, int32: 4, int64: 5, float16: 6, float32: 7, float64: 8, complex32: 9, complex64: 10,
  complex128: 11, bool: 12, bfloat16: 13, uint16: 28, float8_e4m3fn: 29, float8_e5m2: 30, float8_e4m3fnuz: 31,
  float8_e5m2fnuz: 32
} as const satisfies { readonly [name: string]: (typeof ScalarType)[keyof typeof ScalarType] }
/** A dtype that has a code. @since 0.1.0 @category models */
export type DTypeName = keyof typeof DTYPE_CODES
/** @since 0.1.0 @category models */
export type ScalarTypeCode = (typeof DTYPE_CODES)[DTypeName]

/**
 * `Layout`: every code of the schema's enum.
 *
 * @since 0.1.0
 * @category models
 */
export const Layout = {
  Unknown: 0, SparseCoo: 1, SparseCsr: 2, SparseCsc: 3, SparseBsr: 4, SparseBsc: 5, _mkldnn: 6, Strided: 7
} as const

/** The code of each torch layout, by its name without `torch.`. @since 0.1.0 @category models */
export const LAYOUT_CODES = {
  sparse_coo: 1, sparse_csr: 2, sparse_csc: 3, sparse_bsr: 4, sparse_bsc: 5, _mkldnn: 6, strided: 7
} as const satisfies { readonly [name: string]: (typeof Layout)[keyof typeof Layout] }
/** @since 0.1.0 @category models */
export type LayoutName = keyof typeof LAYOUT_CODES
/** @since 0.1.0 @category models */
export type LayoutCode = (typeof LAYOUT_CODES)[LayoutName]

/**
 * `MemoryFormat`: every code of the schema's enum.
 *
 * @since 0.1.0
 * @category models
 */
export const MemoryFormat = {
  Unknown: 0, ContiguousFormat: 1, ChannelsLast: 2, ChannelsLast3d: 3, PreserveFormat: 4
} as const

/** The code of each torch memory format, by its name without `torch.`. @since 0.1.0 @category models */
export const MEMORY_FORMAT_CODES = {
  contiguous_format: 1, channels_last: 2, channels_last_3d: 3, preserve_format: 4
} as const satisfies { readonly [name: string]: (typeof MemoryFormat)[keyof typeof MemoryFormat] }
/** @since 0.1.0 @category models */
export type MemoryFormatName = keyof typeof MEMORY_FORMAT_CODES
/** @since 0.1.0 @category models */
export type MemoryFormatCode = (typeof MEMORY_FORMAT_CODES)[MemoryFormatName]

/**
 * `ArgumentKind` of a {@link NamedArgument}: positional or keyword. `UNKNOWN` loads as if `kind` were absent.
 *
 * @since 0.1.0
 * @category models
 */
export const ArgumentKind = { UNKNOWN: 0, POSITIONAL: 1, KEYWORD: 2 } as const
/** @since 0.1.0 @category models */
export type ArgumentKindCode = (typeof ArgumentKind)[keyof typeof ArgumentKind]

type Table = { readonly [name: string]: number }

/** A name-to-code lookup: exact for a known name, possibly undefined for any string. @since 0.1.0 @category models */
export interface CodeOf<T extends Table> {
  <N extends keyof T & string>(name: N): T[N]
  (name: string): T[keyof T] | undefined
}
/** A code-to-name lookup: exact for a known code, possibly undefined for any number. @since 0.1.0 @category models */
export interface NameOf<T extends Table> {
  (code: T[keyof T]): keyof T & string
  (code: number): (keyof T & string) | undefined
}

const codeOf = <T extends Table>(table: T): CodeOf<T> =>
  ((name: string) => (Object.hasOwn(table, name) ? table[name] : undefined)) as CodeOf<T>
const nameOf = <T extends Table>(table: T): NameOf<T> => {
  const names = new Map(Object.entries(table).map(([k, v]) => [v, k]))
  return ((code: number) => names.get(code)) as NameOf<T>
}

/** The code of a dtype (`"float32"` is 7), or undefined if it has none. @since 0.1.0 @category getters */
export const dtypeCode = codeOf(DTYPE_CODES)
/** The dtype of a code (7 is `"float32"`), or undefined (`UNKNOWN`, unknown codes). @since 0.1.0 @category getters */
export const dtypeName = nameOf(DTYPE_CODES)
/** The code of a layout (`"strided"` is 7), or undefined. @since 0.1.0 @category getters */
export const layoutCode = codeOf(LAYOUT_CODES)
/** The layout of a code (7 is `"strided"`), or undefined. @since 0.1.0 @category getters */
export const layoutName = nameOf(LAYOUT_CODES)
/** The code of a memory format (`"channels_last"` is 2), or undefined. @since 0.1.0 @category getters */
export const memoryFormatCode = codeOf(MEMORY_FORMAT_CODES)
/** The memory format of a code (2 is `"channels_last"`), or undefined. @since 0.1.0 @category getters */
export const memoryFormatName = nameOf(MEMORY_FORMAT_CODES)

const codes = <V extends number>(table: { readonly [k: string]: V }): ReadonlyArray<V> =>
  [...new Set(Object.values(table))].sort((a, b) => a - b)

/**
 * A dtype code. `UNKNOWN` (0) is refused: torch neither writes nor loads it.
 *
 * @since 0.1.0
 * @category models
 */
export const ScalarTypeCode: Schema.Codec<ScalarTypeCode> = Schema.Literals(codes(DTYPE_CODES))

/** A layout code; `Unknown` (0) is refused, as for dtypes. @since 0.1.0 @category models */
export const LayoutCode: Schema.Codec<LayoutCode> = Schema.Literals(codes(LAYOUT_CODES))

/** A memory format code; `Unknown` (0) is refused, as for dtypes. @since 0.1.0 @category models */
export const MemoryFormatCode: Schema.Codec<MemoryFormatCode> = Schema.Literals(codes(MEMORY_FORMAT_CODES))

/** An argument kind code. @since 0.1.0 @category models */
export const ArgumentKindCode: Schema.Codec<ArgumentKindCode> = Schema.Literals(codes(ArgumentKind))

// ===== Defaults =====

// A field with a default in schema.py: optional when reading (an absent key is the default), always written.
// `Schema.withDecodingDefaultKey`'s link with a synchronous getter: its own getter runs an Effect for every field
// it reads, present or not, and these fields are in every node, argument and device of a program.
const withDefault = <S extends Schema.Top>(schema: S, value: () => S["Encoded"]) =>
  Schema.optionalKey(Schema.toEncoded(schema)).pipe(
    Schema.decodeTo(schema, {
      decode: SchemaGetter.transformOptional((o: Option.Option<S["Encoded"]>) =>
        Option.isSome(o) && o.value !== undefined ? o : Option.some(value())
      ),
      encode: SchemaGetter.passthrough()
    })
  )

// ===== Symbolic values and tensors =====

/**
 * `SymExprHint`: the example value of a symbolic expression.
 *
 * @since 0.1.0
 * @category models
 */
export const SymExprHint = oneOf("SymExprHint", { as_int: Int64, as_bool: Schema.Boolean, as_float: JsonFloat })
/** @since 0.1.0 @category models */
export type SymExprHint = typeof SymExprHint.Type

/**
 * `SymExpr`: a sympy `srepr` (`"Symbol('s77', positive=True, integer=True)"`, or a plain `"s0"`) and its hint.
 *
 * @since 0.1.0
 * @category models
 */
export const SymExpr = Schema.Struct({
  expr_str: Schema.String,
  hint: withDefault(Schema.NullOr(SymExprHint), () => null)
})
/** @since 0.1.0 @category models */
export type SymExpr = typeof SymExpr.Type

/** `SymInt`: a size, stride or offset, `{"as_int": 3}` or `{"as_expr": ...}`. @since 0.1.0 @category models */
export const SymInt = oneOf("SymInt", { as_expr: SymExpr, as_int: Int64 })
/** @since 0.1.0 @category models */
export type SymInt = typeof SymInt.Type

/** `SymFloat`. @since 0.1.0 @category models */
export const SymFloat = oneOf("SymFloat", { as_expr: SymExpr, as_float: JsonFloat })
/** @since 0.1.0 @category models */
export type SymFloat = typeof SymFloat.Type

/** `SymBool`. @since 0.1.0 @category models */
export const SymBool = oneOf("SymBool", { as_expr: SymExpr, as_bool: Schema.Boolean })
/** @since 0.1.0 @category models */
export type SymBool = typeof SymBool.Type

/**
 * `Device`: `{"type": "cuda", "index": 0}`; CPU has `index: null` (the default).
 *
 * @since 0.1.0
 * @category models
 */
export const Device = Schema.Struct({
  // torch.device refuses any other spelling of a device type (`cuda`, `cpu`, `meta`, `privateuseone`, ...).
  type: Schema.String.check(Schema.isPattern(/^[a-z][a-z_]*$/)),
  index: withDefault(Schema.NullOr(NonNegativeInt), () => null)
})
/** @since 0.1.0 @category models */
export type Device = typeof Device.Type

/**
 * `TensorMeta`: what a (fake) tensor looks like.
 *
 * @since 0.1.0
 * @category models
 */
export const TensorMeta = Schema.Struct({
  dtype: ScalarTypeCode,
  sizes: Schema.Array(SymInt),
  requires_grad: Schema.Boolean,
  device: Device,
  strides: Schema.Array(SymInt),
  storage_offset: SymInt,
  layout: LayoutCode
})
/** @since 0.1.0 @category models */
export type TensorMeta = typeof TensorMeta.Type

// ===== Arguments =====

/** `SymIntArgument`: a graph value by name, or an int in a mixed list. @since 0.1.0 @category models */
export const SymIntArgument = oneOf("SymIntArgument", { as_name: Schema.String, as_int: Int64 })
/** @since 0.1.0 @category models */
export type SymIntArgument = typeof SymIntArgument.Type

/** `SymFloatArgument`. @since 0.1.0 @category models */
export const SymFloatArgument = oneOf("SymFloatArgument", { as_name: Schema.String, as_float: JsonFloat })
/** @since 0.1.0 @category models */
export type SymFloatArgument = typeof SymFloatArgument.Type

/** `SymBoolArgument`. @since 0.1.0 @category models */
export const SymBoolArgument = oneOf("SymBoolArgument", { as_name: Schema.String, as_bool: Schema.Boolean })
/** @since 0.1.0 @category models */
export type SymBoolArgument = typeof SymBoolArgument.Type

/** `TensorArgument`: a tensor value by name. @since 0.1.0 @category models */
export const TensorArgument = Schema.Struct({ name: Schema.String })
/** @since 0.1.0 @category models */
export type TensorArgument = typeof TensorArgument.Type

/** `TokenArgument`: an effect token by name. @since 0.1.0 @category models */
export const TokenArgument = Schema.Struct({ name: Schema.String })
/** @since 0.1.0 @category models */
export type TokenArgument = typeof TokenArgument.Type

/** `OptionalTensorArgument`: an element of a `Tensor?[]`. @since 0.1.0 @category models */
export const OptionalTensorArgument = oneOf("OptionalTensorArgument", {
  as_tensor: TensorArgument,
  as_none: Schema.Boolean
})
/** @since 0.1.0 @category models */
export type OptionalTensorArgument = typeof OptionalTensorArgument.Type

/**
 * `CustomObjArgument`: a torchbind object by name. `class_fqn` may be `""` (Torch-TensorRT's lifted engines).
 *
 * @since 0.1.0
 * @category models
 */
export const CustomObjArgument = Schema.Struct({ name: Schema.String, class_fqn: Schema.String })
/** @since 0.1.0 @category models */
export type CustomObjArgument = typeof CustomObjArgument.Type

/** `ComplexValue`. @since 0.1.0 @category models */
export const ComplexValue = Schema.Struct({ real: JsonFloat, imag: JsonFloat })
/** @since 0.1.0 @category models */
export type ComplexValue = typeof ComplexValue.Type

/**
 * The variants of {@link Argument}, decoded.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArgumentVariants {
  readonly as_none: boolean
  readonly as_tensor: TensorArgument
  readonly as_tensors: ReadonlyArray<TensorArgument>
  readonly as_int: Int64
  readonly as_ints: ReadonlyArray<Int64>
  readonly as_float: number
  readonly as_floats: ReadonlyArray<number>
  readonly as_string: string
  readonly as_strings: ReadonlyArray<string>
  readonly as_sym_int: SymIntArgument
  readonly as_sym_ints: ReadonlyArray<SymIntArgument>
  readonly as_scalar_type: ScalarTypeCode
  readonly as_memory_format: MemoryFormatCode
  readonly as_layout: LayoutCode
  readonly as_device: Device
  readonly as_bool: boolean
  readonly as_bools: ReadonlyArray<boolean>
  readonly as_sym_bool: SymBoolArgument
  readonly as_sym_bools: ReadonlyArray<SymBoolArgument>
  readonly as_graph: GraphArgument
  readonly as_optional_tensors: ReadonlyArray<OptionalTensorArgument>
  readonly as_custom_obj: CustomObjArgument
  readonly as_operator: string
  readonly as_sym_float: SymFloatArgument
  readonly as_sym_floats: ReadonlyArray<SymFloatArgument>
  readonly as_optional_tensor: OptionalTensorArgument
  readonly as_complex: ComplexValue
  readonly as_nested_tensors: ReadonlyArray<ReadonlyArray<TensorArgument>>
  readonly as_int_lists: ReadonlyArray<ReadonlyArray<Int64>>
  readonly as_string_to_argument: { readonly [key: string]: Argument }
}

/**
 * The variants of {@link Argument}, as JSON (floats may be `"Infinity"`, defaulted keys may be absent).
 *
 * @since 0.1.0
 * @category models
 */
export interface ArgumentVariantsEncoded extends
  Omit<
    ArgumentVariants,
    | "as_float"
    | "as_floats"
    | "as_sym_float"
    | "as_sym_floats"
    | "as_complex"
    | "as_device"
    | "as_graph"
    | "as_string_to_argument"
  >
{
  readonly as_float: typeof JsonFloat.Encoded
  readonly as_floats: ReadonlyArray<typeof JsonFloat.Encoded>
  readonly as_sym_float: typeof SymFloatArgument.Encoded
  readonly as_sym_floats: ReadonlyArray<typeof SymFloatArgument.Encoded>
  readonly as_complex: typeof ComplexValue.Encoded
  readonly as_device: typeof Device.Encoded
  readonly as_graph: GraphArgumentEncoded
  readonly as_string_to_argument: { readonly [key: string]: ArgumentEncoded }
}

/**
 * `Argument`: every value a node input, node output, graph input or graph output can hold (§2.4 of the spec).
 *
 * Gotchas: `as_optional_tensor` is in the schema, but torch 2.11 neither writes nor loads it ("Unhandled
 * argument"); an empty `as_tensors` as a node output cannot be loaded either.
 *
 * @since 0.1.0
 * @category models
 */
export type Argument = OneOf<ArgumentVariants>
/** @since 0.1.0 @category models */
export type ArgumentEncoded = OneOf<ArgumentVariantsEncoded>

/**
 * `GraphArgument`: the subgraph of a higher-order op.
 *
 * @since 0.1.0
 * @category models
 */
export interface GraphArgument {
  readonly name: string
  readonly graph: Graph
}
/** @since 0.1.0 @category models */
export interface GraphArgumentEncoded {
  readonly name: string
  readonly graph: GraphEncoded
}

const ArgumentRef = Schema.suspend((): Schema.Codec<Argument, ArgumentEncoded> => Argument)
const GraphRef = Schema.suspend((): Schema.Codec<Graph, GraphEncoded> => Graph)

/** @since 0.1.0 @category models */
export const GraphArgument: Schema.Codec<GraphArgument, GraphArgumentEncoded> = Schema.Struct({
  name: Schema.String,
  graph: GraphRef
})

const argumentFields = {
  as_none: Schema.Boolean,
  as_tensor: TensorArgument,
  as_tensors: Schema.Array(TensorArgument),
  as_int: Int64,
  as_ints: Schema.Array(Int64),
  as_float: JsonFloat,
  as_floats: Schema.Array(JsonFloat),
  as_string: Schema.String,
  as_strings: Schema.Array(Schema.String),
  as_sym_int: SymIntArgument,
  as_sym_ints: Schema.Array(SymIntArgument),
  as_scalar_type: ScalarTypeCode,
  as_memory_format: MemoryFormatCode,
  as_layout: LayoutCode,
  as_device: Device,
  as_bool: Schema.Boolean,
  as_bools: Schema.Array(Schema.Boolean),
  as_sym_bool: SymBoolArgument,
  as_sym_bools: Schema.Array(SymBoolArgument),
  as_graph: GraphArgument,
  as_optional_tensors: Schema.Array(OptionalTensorArgument),
  as_custom_obj: CustomObjArgument,
  as_operator: Schema.String,
  as_sym_float: SymFloatArgument,
  as_sym_floats: Schema.Array(SymFloatArgument),
  as_optional_tensor: OptionalTensorArgument,
  as_complex: ComplexValue,
  as_nested_tensors: Schema.Array(Schema.Array(TensorArgument)),
  as_int_lists: Schema.Array(Schema.Array(Int64)),
  as_string_to_argument: Schema.Record(Schema.String, ArgumentRef)
}

/** @since 0.1.0 @category models */
export const Argument: Schema.Codec<Argument, ArgumentEncoded> = oneOf("Argument", argumentFields) as never

/**
 * The keys of {@link Argument}, in the schema's order.
 *
 * @since 0.1.0
 * @category models
 */
export const ARGUMENT_KEYS = Object.keys(argumentFields) as ReadonlyArray<keyof ArgumentVariants>

// ===== Nodes and graphs =====

/**
 * `NamedArgument`: one input of a node, by its schema name. `kind` is 1 (positional) or 2 (keyword); null
 * (the default) lets the loader decide from the op's schema.
 *
 * @since 0.1.0
 * @category models
 */
export interface NamedArgument {
  readonly name: string
  readonly arg: Argument
  readonly kind: ArgumentKindCode | null
}
/** @since 0.1.0 @category models */
export interface NamedArgumentEncoded {
  readonly name: string
  readonly arg: ArgumentEncoded
  readonly kind?: ArgumentKindCode | null
}
/** @since 0.1.0 @category models */
export const NamedArgument: Schema.Codec<NamedArgument, NamedArgumentEncoded> = Schema.Struct({
  name: Schema.String,
  arg: ArgumentRef,
  kind: withDefault(Schema.NullOr(ArgumentKindCode), () => null)
})

/**
 * `Node`: one `call_function` node. `metadata` holds strings only (`stack_trace`, `nn_module_stack`,
 * `torch_fn`, `source_fn_stack`, `custom`, `from_node`, each written only when set); `name` null (the
 * default) lets the loader name the node after its target.
 *
 * @since 0.1.0
 * @category models
 */
export interface Node {
  readonly target: string
  readonly inputs: ReadonlyArray<NamedArgument>
  readonly outputs: ReadonlyArray<Argument>
  readonly metadata: { readonly [key: string]: string }
  readonly is_hop_single_tensor_return: boolean | null
  readonly name: string | null
}
/** @since 0.1.0 @category models */
export interface NodeEncoded {
  readonly target: string
  readonly inputs: ReadonlyArray<NamedArgumentEncoded>
  readonly outputs: ReadonlyArray<ArgumentEncoded>
  readonly metadata: { readonly [key: string]: string }
  readonly is_hop_single_tensor_return?: boolean | null
  readonly name?: string | null
}
/** @since 0.1.0 @category models */
export const Node: Schema.Codec<Node, NodeEncoded> = Schema.Struct({
  target: Schema.String,
  inputs: Schema.Array(NamedArgument),
  outputs: Schema.Array(ArgumentRef),
  metadata: Schema.Record(Schema.String, Schema.String),
  is_hop_single_tensor_return: withDefault(Schema.NullOr(Schema.Boolean), () => null),
  name: withDefault(Schema.NullOr(Schema.String), () => null)
})

/**
 * `Graph`: inputs (one per placeholder), outputs (one per element of the output tuple), nodes in order, and
 * the meta of every value by name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Graph {
  readonly inputs: ReadonlyArray<Argument>
  readonly outputs: ReadonlyArray<Argument>
  readonly nodes: ReadonlyArray<Node>
  readonly tensor_values: { readonly [name: string]: TensorMeta }
  readonly sym_int_values: { readonly [name: string]: SymInt }
  readonly sym_bool_values: { readonly [name: string]: SymBool }
  readonly is_single_tensor_return: boolean
  readonly custom_obj_values: { readonly [name: string]: CustomObjArgument }
  readonly sym_float_values: { readonly [name: string]: SymFloat }
}
/** @since 0.1.0 @category models */
export interface GraphEncoded {
  readonly inputs: ReadonlyArray<ArgumentEncoded>
  readonly outputs: ReadonlyArray<ArgumentEncoded>
  readonly nodes: ReadonlyArray<NodeEncoded>
  readonly tensor_values: { readonly [name: string]: typeof TensorMeta.Encoded }
  readonly sym_int_values: { readonly [name: string]: typeof SymInt.Encoded }
  readonly sym_bool_values: { readonly [name: string]: typeof SymBool.Encoded }
  readonly is_single_tensor_return?: boolean
  readonly custom_obj_values?: { readonly [name: string]: CustomObjArgument }
  readonly sym_float_values?: { readonly [name: string]: typeof SymFloat.Encoded }
}
/** @since 0.1.0 @category models */
export const Graph: Schema.Codec<Graph, GraphEncoded> = Schema.Struct({
  inputs: Schema.Array(ArgumentRef),
  outputs: Schema.Array(ArgumentRef),
  nodes: Schema.Array(Node),
  tensor_values: Schema.Record(Schema.String, TensorMeta),
  sym_int_values: Schema.Record(Schema.String, SymInt),
  sym_bool_values: Schema.Record(Schema.String, SymBool),
  is_single_tensor_return: withDefault(Schema.Boolean, () => false),
  custom_obj_values: withDefault(Schema.Record(Schema.String, CustomObjArgument), () => ({})),
  sym_float_values: withDefault(Schema.Record(Schema.String, SymFloat), () => ({}))
})

// ===== Signature =====

/** `UserInputSpec`. @since 0.1.0 @category models */
export const UserInputSpec = Schema.Struct({ arg: ArgumentRef })

/** `ConstantValue`: a constant user input. @since 0.1.0 @category models */
export const ConstantValue = oneOf("ConstantValue", {
  as_none: Schema.Boolean,
  as_int: Int64,
  as_float: JsonFloat,
  as_string: Schema.String,
  as_bool: Schema.Boolean
})
/** @since 0.1.0 @category models */
export type ConstantValue = typeof ConstantValue.Type

/** `InputToConstantInputSpec`. @since 0.1.0 @category models */
export const InputToConstantInputSpec = Schema.Struct({ name: Schema.String, value: ConstantValue })
/** `InputToParameterSpec`: `parameter_name` is the parameter's FQN. @since 0.1.0 @category models */
export const InputToParameterSpec = Schema.Struct({ arg: TensorArgument, parameter_name: Schema.String })
/** `InputToBufferSpec`: persistent buffers are weights, others constants. @since 0.1.0 @category models */
export const InputToBufferSpec = Schema.Struct({
  arg: TensorArgument,
  buffer_name: Schema.String,
  persistent: Schema.Boolean
})
/** `InputToTensorConstantSpec`. @since 0.1.0 @category models */
export const InputToTensorConstantSpec = Schema.Struct({ arg: TensorArgument, tensor_constant_name: Schema.String })
/** `InputToCustomObjSpec`. @since 0.1.0 @category models */
export const InputToCustomObjSpec = Schema.Struct({ arg: CustomObjArgument, custom_obj_name: Schema.String })
/** `InputTokenSpec`. @since 0.1.0 @category models */
export const InputTokenSpec = Schema.Struct({ arg: TokenArgument })

/**
 * `InputSpec`: what graph input `i` is (`graph.inputs[i]` pairs with `input_specs[i]`).
 *
 * @since 0.1.0
 * @category models
 */
export const InputSpec = oneOf("InputSpec", {
  user_input: UserInputSpec,
  parameter: InputToParameterSpec,
  buffer: InputToBufferSpec,
  tensor_constant: InputToTensorConstantSpec,
  custom_obj: InputToCustomObjSpec,
  token: InputTokenSpec,
  constant_input: InputToConstantInputSpec
})
/** @since 0.1.0 @category models */
export type InputSpec = typeof InputSpec.Type

/** `UserOutputSpec`. @since 0.1.0 @category models */
export const UserOutputSpec = Schema.Struct({ arg: ArgumentRef })
/** `LossOutputSpec`. @since 0.1.0 @category models */
export const LossOutputSpec = Schema.Struct({ arg: TensorArgument })
/** `BufferMutationSpec`. @since 0.1.0 @category models */
export const BufferMutationSpec = Schema.Struct({ arg: TensorArgument, buffer_name: Schema.String })
/** `ParameterMutationSpec`. @since 0.1.0 @category models */
export const ParameterMutationSpec = Schema.Struct({ arg: TensorArgument, parameter_name: Schema.String })
/** `GradientToParameterSpec`. @since 0.1.0 @category models */
export const GradientToParameterSpec = Schema.Struct({ arg: TensorArgument, parameter_name: Schema.String })
/** `GradientToUserInputSpec`. @since 0.1.0 @category models */
export const GradientToUserInputSpec = Schema.Struct({ arg: TensorArgument, user_input_name: Schema.String })
/** `UserInputMutationSpec`. @since 0.1.0 @category models */
export const UserInputMutationSpec = Schema.Struct({ arg: TensorArgument, user_input_name: Schema.String })
/** `OutputTokenSpec`. @since 0.1.0 @category models */
export const OutputTokenSpec = Schema.Struct({ arg: TokenArgument })

/**
 * `OutputSpec`: what graph output `j` is (`graph.outputs[j]` pairs with `output_specs[j]`).
 *
 * @since 0.1.0
 * @category models
 */
export const OutputSpec = oneOf("OutputSpec", {
  user_output: UserOutputSpec,
  loss_output: LossOutputSpec,
  buffer_mutation: BufferMutationSpec,
  gradient_to_parameter: GradientToParameterSpec,
  gradient_to_user_input: GradientToUserInputSpec,
  user_input_mutation: UserInputMutationSpec,
  token: OutputTokenSpec,
  parameter_mutation: ParameterMutationSpec
})
/** @since 0.1.0 @category models */
export type OutputSpec = typeof OutputSpec.Type

/** `GraphSignature`. @since 0.1.0 @category models */
export const GraphSignature = Schema.Struct({
  input_specs: Schema.Array(InputSpec),
  output_specs: Schema.Array(OutputSpec)
})
/** @since 0.1.0 @category models */
export type GraphSignature = typeof GraphSignature.Type

// ===== Module call graph =====

/**
 * `ModuleCallSignature`: the calling convention of a module. `forward_arg_names` defaults to null.
 *
 * @since 0.1.0
 * @category models
 */
export const ModuleCallSignature = Schema.Struct({
  inputs: Schema.Array(ArgumentRef),
  outputs: Schema.Array(ArgumentRef),
  in_spec: TreeSpec.TreeSpecString,
  out_spec: TreeSpec.TreeSpecString,
  forward_arg_names: withDefault(Schema.NullOr(Schema.Array(Schema.String)), () => null)
})
/** @since 0.1.0 @category models */
export type ModuleCallSignature = typeof ModuleCallSignature.Type

/**
 * `ModuleCallEntry`: the root module (`fqn: ""`, which `ep.module()` needs) or a submodule (`signature`
 * null, the default).
 *
 * @since 0.1.0
 * @category models
 */
export const ModuleCallEntry = Schema.Struct({
  fqn: Schema.String,
  signature: withDefault(Schema.NullOr(ModuleCallSignature), () => null)
})
/** @since 0.1.0 @category models */
export type ModuleCallEntry = typeof ModuleCallEntry.Type

/** `NamedTupleDef`. @since 0.1.0 @category models */
export const NamedTupleDef = Schema.Struct({ field_names: Schema.Array(Schema.String) })

// ===== Program =====

// torch's loader `json.loads` the `custom` entry, so it must be JSON text; the strings are kept as read.
const GraphModuleMetadata = Schema.Record(Schema.String, Schema.String).check(
  Schema.makeFilter((m) => {
    const custom = Json.get(m, "custom")
    if (custom === undefined) return undefined
    const r = Json.parseText(custom)
    return Result.isSuccess(r) || { path: ["custom"], issue: `JSON text, but ${Json.textFaultMessage(r.failure)}` }
  })
)

/**
 * `GraphModule`: the graph, its signature and the module call graph. `metadata` holds `{"custom": json}` when
 * the module had custom meta; it and `treespec_namedtuple_fields` default to `{}`.
 *
 * @since 0.1.0
 * @category models
 */
export const GraphModule = Schema.Struct({
  graph: Graph,
  signature: GraphSignature,
  module_call_graph: Schema.Array(ModuleCallEntry),
  metadata: withDefault(GraphModuleMetadata, () => ({})),
  treespec_namedtuple_fields: withDefault(Schema.Record(Schema.String, NamedTupleDef), () => ({}))
})
/** @since 0.1.0 @category models */
export type GraphModule = typeof GraphModule.Type

/**
 * `RangeConstraint`: the range of a symbol. Both keys are required; null is unbounded (`int_oo`).
 *
 * @since 0.1.0
 * @category models
 */
export const RangeConstraint = Schema.Struct({ min_val: Schema.NullOr(Int64), max_val: Schema.NullOr(Int64) })
/** @since 0.1.0 @category models */
export type RangeConstraint = typeof RangeConstraint.Type

/**
 * `SchemaVersion`. Its value is checked apart from the shape (see {@link isLoadableSchemaVersion}), so that
 * another version is reported as unsupported rather than as malformed.
 *
 * @since 0.1.0
 * @category models
 */
export const SchemaVersion = Schema.Struct({ major: Schema.Int, minor: Schema.Int })
/** @since 0.1.0 @category models */
export type SchemaVersion = typeof SchemaVersion.Type

/**
 * The version these records describe, and the one a writer puts in `schema_version`.
 *
 * @since 0.1.0
 * @category models
 */
export const SCHEMA_VERSION: SchemaVersion = { major: 8, minor: 17 }

/**
 * Whether torch 2.11 loads a program of this schema version: major 8 (any minor), or exactly 0.0.
 *
 * @since 0.1.0
 * @category getters
 */
export const isLoadableSchemaVersion = (v: SchemaVersion): boolean =>
  v.major === SCHEMA_VERSION.major || (v.major === 0 && v.minor === 0)

/**
 * `ExportedProgram`: the content of `models/model.json`.
 *
 * Defaults: `verifiers` `[]`, `torch_version` `"<=2.4"`, `guards_code` `[]`. Torch 2.11 writes
 * `opset_version` `{"aten": 10}` (never checked), `verifiers` `["ATEN"]` (Torch-TensorRT) or `["TRAINING"]`,
 * `torch_version` `"2.11.0+cu130"`. A verifier name must be one the loading process knows (`"ATEN"`, `""`,
 * `"TRAINING"` in plain torch); that is not checked here.
 *
 * @since 0.1.0
 * @category models
 */
export const ExportedProgram = Schema.Struct({
  graph_module: GraphModule,
  opset_version: Schema.Record(Schema.String, Schema.Int),
  range_constraints: Schema.Record(Schema.String, RangeConstraint),
  schema_version: SchemaVersion,
  verifiers: withDefault(Schema.Array(Schema.String), () => []),
  torch_version: withDefault(Schema.String, () => "<=2.4"),
  guards_code: withDefault(Schema.Array(Schema.String), () => [])
})
/** @since 0.1.0 @category models */
export type ExportedProgram = typeof ExportedProgram.Type
/** @since 0.1.0 @category models */
export type ExportedProgramEncoded = typeof ExportedProgram.Encoded

// ===== Payload configs =====

/**
 * `PayloadMeta`: where one weight or constant is stored. All four keys are required. A tensor has its own
 * `tensor_meta` (several tensors may share one `path_name`); a custom object has `tensor_meta: null`,
 * `use_pickle: true` and a `custom_obj_<i>` file.
 *
 * @since 0.1.0
 * @category models
 */
export const PayloadMeta = Schema.Struct({
  path_name: Schema.String,
  is_param: Schema.Boolean,
  use_pickle: Schema.Boolean,
  tensor_meta: Schema.NullOr(TensorMeta)
})
/** @since 0.1.0 @category models */
export type PayloadMeta = typeof PayloadMeta.Type

/**
 * `PayloadConfig`: the content of `data/weights/model_weights_config.json` and
 * `data/constants/model_constants_config.json`, keyed by FQN (the targets of the input specs).
 *
 * @since 0.1.0
 * @category models
 */
export const PayloadConfig = Schema.Struct({ config: Schema.Record(Schema.String, PayloadMeta) })
/** @since 0.1.0 @category models */
export type PayloadConfig = typeof PayloadConfig.Type

/**
 * The FQNs a signature stores in each payload config, in input-spec order: parameters and persistent buffers
 * are weights; tensor constants, non-persistent buffers and custom objects are constants.
 *
 * @since 0.1.0
 * @category getters
 */
export const payloadTargets = (
  signature: GraphSignature
): { readonly weights: ReadonlyArray<string>; readonly constants: ReadonlyArray<string> } => {
  const weights: Array<string> = []
  const constants: Array<string> = []
  for (const spec of signature.input_specs) {
    if (spec.parameter !== undefined) weights.push(spec.parameter.parameter_name)
    else if (spec.buffer !== undefined) (spec.buffer.persistent ? weights : constants).push(spec.buffer.buffer_name)
    else if (spec.tensor_constant !== undefined) constants.push(spec.tensor_constant.tensor_constant_name)
    else if (spec.custom_obj !== undefined) constants.push(spec.custom_obj.custom_obj_name)
  }
  return { weights, constants }
}
