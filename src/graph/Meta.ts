/**
 * Node metadata: the keys of fx's `node.meta` that the exporter reads or passes through, typed.
 *
 * `val` is what torch.export's serializer describes as the node's output (a fake tensor's metadata, a list
 * of them, a symbolic int, a custom object...); the other keys are carried unchanged from the compiled
 * module to the exported program, as JSON-ready values exactly as torch.export's serializer writes them
 * (`shared/spec/compiled-module-archive.md`, "Node").
 *
 * Values are immutable data: copying a node copies its meta record (fx's `copy.copy(node.meta)`), and the
 * values inside are shared, which is safe because nothing mutates them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Tensor } from "./Tensor.ts"

// ===== Models =====

/**
 * A dimension, stride or offset: an int, or a symbolic expression such as `"s0"` or `"3*s0"`, as sympy's
 * `str` prints it (`SymExpr` reads and writes these texts).
 *
 * @since 0.1.0
 * @category models
 */
export const SymOrInt = Schema.Union([Schema.Int, Schema.String])

/**
 * The metadata of a (fake) tensor.
 *
 * @since 0.1.0
 * @category models
 */
export const TensorMeta = Schema.Struct({
  shape: Schema.Array(SymOrInt),
  stride: Schema.Array(SymOrInt),
  storage_offset: SymOrInt,
  dtype: Schema.String,
  device: Schema.String,
  requires_grad: Schema.Boolean
})
/** @since 0.1.0 @category models */
export type TensorMeta = typeof TensorMeta.Type

/** A float that may be non-finite (`"inf"`, `"-inf"`, `"nan"`), as the archive writes it. @since 0.1.0 @category models */
export const JsonFloat = Schema.Union([Schema.Finite, Schema.Literals(["inf", "-inf", "nan"])])

/**
 * What `meta["val"]` holds.
 *
 * @since 0.1.0
 * @category models
 */
export type Val =
  | { readonly tensor: TensorMeta }
  | ReadonlyArray<Val>
  | { readonly int: number | string }
  | { readonly sym_int: string }
  | { readonly sym_bool: string }
  | { readonly sym_float: string }
  | { readonly float: number | "inf" | "-inf" | "nan" }
  | { readonly bool: boolean }
  | { readonly custom_obj: { readonly name: string; readonly class_fqn: string } }
  | null

/** @since 0.1.0 @category models */
export const Val: Schema.Codec<Val> = Schema.Union([
  Schema.Struct({ tensor: TensorMeta }),
  Schema.Array(Schema.suspend((): Schema.Codec<Val> => Val)),
  Schema.Struct({ int: Schema.Union([Schema.Int, Schema.String.check(Schema.isPattern(/^-?\d+$/))]) }),
  Schema.Struct({ sym_int: Schema.String }),
  Schema.Struct({ sym_bool: Schema.String }),
  Schema.Struct({ sym_float: Schema.String }),
  Schema.Struct({ float: JsonFloat }),
  Schema.Struct({ bool: Schema.Boolean }),
  Schema.Struct({ custom_obj: Schema.Struct({ name: Schema.String, class_fqn: Schema.String }) }),
  Schema.Null
])

/**
 * A node's metadata. Only these keys exist; every one is optional.
 *
 * @since 0.1.0
 * @category models
 */
export const Meta = Schema.Struct({
  val: Schema.optionalKey(Val),
  stack_trace: Schema.optionalKey(Schema.String),
  nn_module_stack: Schema.optionalKey(Schema.Json),
  source_fn_stack: Schema.optionalKey(Schema.Json),
  torch_fn: Schema.optionalKey(Schema.Json),
  from_node: Schema.optionalKey(Schema.Json),
  custom: Schema.optionalKey(Schema.Json)
})

/**
 * The mutable record a node carries (passes set `val`); the values in it are immutable.
 *
 * @since 0.1.0
 * @category models
 */
export type Meta = { -readonly [K in keyof typeof Meta.Type]: (typeof Meta.Type)[K] }

/**
 * The meta keys, in the order the archive writers emit them.
 *
 * @since 0.1.0
 * @category getters
 */
export const keys = ["val", "stack_trace", "nn_module_stack", "source_fn_stack", "torch_fn", "from_node", "custom"] as const

// ===== Constructors =====

/**
 * A copy of a meta record: a new record holding the same values (fx's `copy.copy(node.meta)`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const copy = (meta: Meta): Meta => ({ ...meta })

/**
 * The metadata of a real tensor, as `meta["val"]` and the archives record it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tensorMeta = (t: Tensor): TensorMeta => ({
  shape: t.shape,
  stride: t.stride,
  storage_offset: t.storageOffset,
  dtype: t.dtype,
  device: t.device,
  requires_grad: t.requiresGrad
})

/**
 * The `meta["val"]` of a real tensor: its own metadata.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tensorVal = (t: Tensor): Val => ({ tensor: tensorMeta(t) })
