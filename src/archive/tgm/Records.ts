/**
 * The JSON records of a `.tgm` compiled-module archive (version 1), as Effect schemas: decoding a record
 * is its validation. The layout is `shared/spec/compiled-module-archive.md`, field for field.
 *
 * These are the wire shapes; `Decode.ts` turns them into the graph IR (resolving node names and archive
 * entries), `Encode.ts` turns the IR back into them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Meta from "../../graph/Meta.ts"
import * as TreeSpec from "../TreeSpec.ts"
import { ops } from "../../graph/Node.ts"

// ===== format.json =====

/** The archive's `format` field. @since 0.1.0 @category models */
export const FORMAT = "torch-tensorrt-compiled-module"
/** The only version this reader knows. @since 0.1.0 @category models */
export const VERSION = 1

/**
 * `format.json`. The version is checked apart from the shape, so that a newer archive is reported as an
 * unsupported version rather than as a malformed one.
 *
 * @since 0.1.0
 * @category models
 */
export const FormatRecord = Schema.Struct({
  format: Schema.String,
  version: Schema.Int,
  producer: Schema.optionalKey(
    Schema.Struct({
      torch: Schema.optionalKey(Schema.NullOr(Schema.String)),
      torch_tensorrt: Schema.optionalKey(Schema.NullOr(Schema.String)),
      tool: Schema.optionalKey(Schema.NullOr(Schema.String))
    })
  )
})
/** @since 0.1.0 @category models */
export type FormatRecord = typeof FormatRecord.Type

// ===== op_schemas.json =====

/**
 * The optional entry holding the operator schemas of the module's graphs: a trtx addition to the shared
 * spec (`docs/divergences.md`), written by `python/trtx_dump.py`. Readers that do not know it ignore it, as
 * they ignore every unknown entry.
 *
 * @since 0.1.0
 * @category models
 */
export const SCHEMAS_ENTRY = "op_schemas.json"

/**
 * `op_schemas.json`: torch's schema strings (`str(op._schema)`), the form `trtx export --schemas` takes.
 *
 * @since 0.1.0
 * @category models
 */
export const OpSchemasRecord = Schema.Array(Schema.String)
/** @since 0.1.0 @category models */
export type OpSchemasRecord = typeof OpSchemasRecord.Type

// ===== Arguments =====

/** `{"node": name}`. @since 0.1.0 @category models */
export const NodeRef = Schema.Struct({ node: Schema.String })

/**
 * An argument as the archive writes it (the table "Arg, by JSON shape" of the spec).
 *
 * @since 0.1.0
 * @category models
 */
export type ArgRecord =
  | { readonly node: string }
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<ArgRecord>
  | { readonly int: string }
  | { readonly float: number | "inf" | "-inf" | "nan" }
  | { readonly complex: readonly [number | "inf" | "-inf" | "nan", number | "inf" | "-inf" | "nan"] }
  | { readonly tuple: ReadonlyArray<ArgRecord> }
  | { readonly dict: ReadonlyArray<readonly [ArgRecord, ArgRecord]> }
  | { readonly dtype: string }
  | { readonly device: string }
  | { readonly layout: string }
  | { readonly memory_format: string }
  | { readonly slice: readonly [ArgRecord, ArgRecord, ArgRecord] }
  | { readonly sym_int: string }

const Arg = Schema.suspend((): Schema.Codec<ArgRecord> => ArgRecord)

const ARG_KEYS = ["node", "int", "float", "complex", "tuple", "dict", "dtype", "device", "layout", "memory_format", "slice", "sym_int"]

// Every object-shaped argument in one struct of optional keys with an exactly-one check, rather than one
// union member per key: a fault inside `{"float": ...}` is then reported at `.float`, not as a mismatch
// against whichever member a union tried first.
const ArgObject = Schema.Struct({
  node: Schema.optionalKey(Schema.String),
  int: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^-?\d+$/))),
  float: Schema.optionalKey(Meta.JsonFloat),
  complex: Schema.optionalKey(Schema.Tuple([Meta.JsonFloat, Meta.JsonFloat])),
  tuple: Schema.optionalKey(Schema.Array(Arg)),
  dict: Schema.optionalKey(Schema.Array(Schema.Tuple([Arg, Arg]))),
  dtype: Schema.optionalKey(Schema.String),
  device: Schema.optionalKey(Schema.String),
  layout: Schema.optionalKey(Schema.String),
  memory_format: Schema.optionalKey(Schema.String),
  slice: Schema.optionalKey(Schema.Tuple([Arg, Arg, Arg])),
  sym_int: Schema.optionalKey(Schema.String)
}).check(
  Schema.makeFilter((o) =>
    Object.keys(o).length === 1 || `an argument object has exactly one of the keys ${ARG_KEYS.join(", ")}`
  )
)

/**
 * The schema of {@link ArgRecord}. Its decoded type is the union above: the struct of optional keys holds
 * exactly one of them.
 *
 * @since 0.1.0
 * @category models
 */
export const ArgRecord: Schema.Codec<ArgRecord> = Schema.Union([
  Schema.Null,
  Schema.Boolean,
  // A plain JSON number is a Python int: it must be an integer (a float is written `{"float": x}`).
  Schema.Int,
  Schema.String,
  Schema.Array(Arg),
  ArgObject
]) as unknown as Schema.Codec<ArgRecord>

// ===== Graphs =====

/** A Python identifier, as every node name and kwarg key is. @since 0.1.0 @category models */
export const Identifier = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/))

/**
 * One node.
 *
 * @since 0.1.0
 * @category models
 */
export const NodeRecord = Schema.Struct({
  name: Identifier,
  op: Schema.Literals(ops),
  target: Schema.String,
  args: Schema.Array(ArgRecord),
  // Keys are checked by the decoder, which can name the offending key: a key schema here would drop it.
  kwargs: Schema.Record(Schema.String, ArgRecord),
  meta: Meta.Meta
})
/** @since 0.1.0 @category models */
export type NodeRecord = typeof NodeRecord.Type

/**
 * A symbol's example value, range and sympy assumptions. `hint` is null for an unbacked symbol (`u0`: a
 * data-dependent size); `min` or `max` null: unbounded on that side. `assumptions` (optional) are the
 * symbol's own in `srepr` order (`{"positive": true, "integer": true}`); without them trtx assumes torch's
 * (`SymExpr.defaultAssumptions`). Null hints and bounds and the assumptions are trtx additions to the
 * shared spec (`docs/divergences.md`).
 *
 * @since 0.1.0
 * @category models
 */
export const SymbolRecord = Schema.Struct({
  hint: Schema.NullOr(Schema.Int),
  min: Schema.NullOr(Schema.Int),
  max: Schema.NullOr(Schema.Int),
  assumptions: Schema.optionalKey(Schema.Record(Schema.String, Schema.Boolean))
})
/** @since 0.1.0 @category models */
export type SymbolRecord = typeof SymbolRecord.Type

/**
 * A graph: nodes in graph order, the pytree specs (treespec strings, checked as the `.pt2` writer will need
 * them; null where the graph has no pytree info), and (root only) the symbols.
 *
 * @since 0.1.0
 * @category models
 */
export const GraphRecord = Schema.Struct({
  nodes: Schema.Array(NodeRecord),
  in_spec: Schema.NullOr(TreeSpec.TreeSpecString),
  out_spec: Schema.NullOr(TreeSpec.TreeSpecString),
  symbols: Schema.optionalKey(Schema.Record(Schema.String, SymbolRecord)),
  // Root only, optional (a trtx addition): the field names of the namedtuple types the specs name.
  namedtuple_fields: Schema.optionalKey(Schema.Record(Schema.String, Schema.Array(Schema.String)))
})
/** @since 0.1.0 @category models */
export type GraphRecord = typeof GraphRecord.Type

// ===== State =====

/** `{"engine": "engines/<k>"}`: engine bytes kept in their own entry. @since 0.1.0 @category models */
export const EngineRef = Schema.Struct({ engine: Schema.String.check(Schema.isPattern(/^engines\/\d+$/)) })

/** An engine record or script-object state: strings, with engine bytes by reference. @since 0.1.0 @category models */
export const EngineFields = Schema.Array(Schema.Union([Schema.String, EngineRef]))

/**
 * A tensor: a view into the storage held by entry `tensors/<k>`.
 *
 * @since 0.1.0
 * @category models
 */
export const TensorRef = Schema.Struct({
  storage: Schema.String.check(Schema.isPattern(/^tensors\/\d+$/)),
  dtype: Schema.String,
  // Ints of any sign here: the decoder holds them to the tensor rules (`Tensor.check`), which refuse a
  // negative one with torch's reason, as the `.pt2` reader does.
  shape: Schema.Array(Schema.Int),
  stride: Schema.Array(Schema.Int),
  storage_offset: Schema.Int,
  device: Schema.String,
  requires_grad: Schema.Boolean,
  persistent: Schema.optionalKey(Schema.Boolean)
})
/** @since 0.1.0 @category models */
export type TensorRef = typeof TensorRef.Type

/**
 * A torchbind object: its class and `__getstate__()`.
 *
 * @since 0.1.0
 * @category models
 */
export const ScriptObjectRef = Schema.Struct({
  script_object: Schema.Struct({ class_fqn: Schema.String, state: EngineFields })
})
/** @since 0.1.0 @category models */
export type ScriptObjectRef = typeof ScriptObjectRef.Type

// ===== Modules =====

/**
 * A module record, of one of the three kinds.
 *
 * @since 0.1.0
 * @category models
 */
export type ModuleRecord = GraphModuleRecord | PlainModuleRecord | TrtModuleRecord

/** @since 0.1.0 @category models */
export interface StateRecord {
  readonly children: { readonly [name: string]: ModuleRecord }
  readonly parameters: { readonly [name: string]: TensorRef }
  readonly buffers: { readonly [name: string]: TensorRef }
  readonly constants: { readonly [name: string]: TensorRef | ScriptObjectRef }
}
/** @since 0.1.0 @category models */
export interface GraphModuleRecord extends StateRecord {
  readonly kind: "graph_module"
  readonly graph: GraphRecord
}
/** @since 0.1.0 @category models */
export interface PlainModuleRecord extends StateRecord {
  readonly kind: "module"
  readonly type: string
}
/** @since 0.1.0 @category models */
export interface TrtModuleRecord {
  readonly kind: "trt_module"
  readonly name: string
  readonly packed_engine_info: typeof EngineFields.Type
  readonly engine_state?: typeof EngineFields.Type
  readonly input_binding_names: ReadonlyArray<string>
  readonly output_binding_names: ReadonlyArray<string>
}

const Module = Schema.suspend((): Schema.Codec<ModuleRecord> => ModuleRecord)

// Attribute names are checked by the decoder (non-empty, no dot), which can name the offending key.
const state = {
  children: Schema.Record(Schema.String, Module),
  parameters: Schema.Record(Schema.String, TensorRef),
  buffers: Schema.Record(Schema.String, TensorRef),
  constants: Schema.Record(Schema.String, Schema.Union([TensorRef, ScriptObjectRef]))
}

/** @since 0.1.0 @category models */
export const ModuleRecord: Schema.Codec<ModuleRecord> = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("graph_module"), graph: GraphRecord, ...state }),
  Schema.Struct({ kind: Schema.Literal("module"), type: Schema.String, ...state }),
  Schema.Struct({
    kind: Schema.Literal("trt_module"),
    name: Schema.String,
    packed_engine_info: EngineFields,
    engine_state: Schema.optionalKey(EngineFields),
    input_binding_names: Schema.Array(Schema.String),
    output_binding_names: Schema.Array(Schema.String)
  })
])

/**
 * The root record: `module.json` must hold a graph module.
 *
 * @since 0.1.0
 * @category models
 */
export const RootRecord = Schema.Struct({ kind: Schema.Literal("graph_module"), graph: GraphRecord, ...state })
