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
 * `nn_module_stack`: for each module the node was traced in, outermost first, its key (`"L__self___fc1"`) and
 * its path and type (`["fc1", "torch.nn.modules.linear.Linear"]`), as torch.export records it.
 *
 * @since 0.1.0
 * @category models
 */
export const NnModuleStack = Schema.Record(Schema.String, Schema.Tuple([Schema.String, Schema.String]))
/** @since 0.1.0 @category models */
export type NnModuleStack = typeof NnModuleStack.Type

/**
 * `source_fn_stack`: the source functions the node came from, each `[name, target]`, the target as
 * torch.export's serializer spells it (`"torch.nn.modules.linear.Linear"`, `"aten.relu.default"`).
 *
 * @since 0.1.0
 * @category models
 */
export const SourceFnStack = Schema.Array(Schema.Tuple([Schema.String, Schema.String]))
/** @since 0.1.0 @category models */
export type SourceFnStack = typeof SourceFnStack.Type

/**
 * `torch_fn`: the torch function a node was traced from, `[name, "<class>.<function>"]`
 * (`["linear_1", "builtin_function_or_method.linear"]`).
 *
 * @since 0.1.0
 * @category models
 */
export const TorchFn = Schema.Tuple([Schema.String, Schema.String])
/** @since 0.1.0 @category models */
export type TorchFn = typeof TorchFn.Type

/**
 * A JSON value as the archive readers give it: `Schema.Json`'s values, and integers beyond 2^53 as `bigint`
 * (which the readers keep exact and the writers write as their digits, as Python does).
 *
 * @since 0.1.0
 * @category models
 */
export type JsonValue = Schema.Json | bigint | ReadonlyArray<JsonValue> | { readonly [key: string]: JsonValue }

// Iterative, so that no nesting overflows the stack.
const isJsonValue = (root: unknown): root is JsonValue => {
  const stack: Array<unknown> = [root]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "bigint") continue
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return false
      continue
    }
    if (Array.isArray(v)) stack.push(...v)
    else if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) stack.push(...Object.values(v))
    else return false
  }
  return true
}

/** @since 0.1.0 @category models */
export const JsonValue: Schema.Codec<JsonValue> = Schema.declare(isJsonValue, { expected: "a JSON value" })

/**
 * `from_node`: the provenance of a node, a list of `NodeSource` records (`name`, `target`, `graph_id`,
 * `pass_name`, `action`, and a `from_node` list of their own), each kept as JSON.
 *
 * @since 0.1.0
 * @category models
 */
export const FromNode = Schema.Array(Schema.Record(Schema.String, JsonValue))
/** @since 0.1.0 @category models */
export type FromNode = typeof FromNode.Type

/**
 * A node's metadata. Only these keys exist; every one is optional. Each is typed as the writers use it, so
 * that a reader refuses, located, what a writer could not write (`torch_fn` a number, `nn_module_stack` a
 * list); `custom` is any JSON value, as torch's `json.dumps` takes it.
 *
 * @since 0.1.0
 * @category models
 */
export const Meta = Schema.Struct({
  val: Schema.optionalKey(Val),
  stack_trace: Schema.optionalKey(Schema.String),
  nn_module_stack: Schema.optionalKey(NnModuleStack),
  source_fn_stack: Schema.optionalKey(SourceFnStack),
  torch_fn: Schema.optionalKey(TorchFn),
  from_node: Schema.optionalKey(FromNode),
  custom: Schema.optionalKey(JsonValue)
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
