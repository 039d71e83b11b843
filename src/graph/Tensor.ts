/**
 * Module state: tensors as views into shared, immutable storages, and TorchScript objects.
 *
 * A {@link Storage} is the bytes of one whole untyped storage (torch's `UntypedStorage`); a {@link Tensor} is
 * a view into it (dtype, shape, stride and offset in elements), exactly as a `.tgm` TensorRef or a `.pt2`
 * weights entry describes one. Two tensors on one storage alias it (tied weights, transposed views). Bytes
 * are never copied by the IR: copying a module shares its storages and engine blobs.
 *
 * The tensor rules ({@link check}, {@link checkInBounds}) are torch's (`as_strided`, `empty_strided`, autograd's
 * dtype rule), in one place: both readers hold what they read to them, and the writers what they write.
 *
 * @since 0.1.0
 */

// ===== Models =====

/**
 * The bytes of one storage. Identity is aliasing: two views of one storage object share memory.
 *
 * @since 0.1.0
 * @category models
 */
export interface Storage {
  readonly bytes: Uint8Array
}

/**
 * A tensor: a typed, strided view into a storage.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tensor {
  readonly _tag: "Tensor"
  readonly storage: Storage
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly stride: ReadonlyArray<number>
  readonly storageOffset: number
  readonly device: string
  readonly requiresGrad: boolean
}

/**
 * A TorchScript (torchbind) object held as an attribute, by its class and its `__getstate__()` list; for a
 * `tensorrt::Engine`, the engine record, with the engine's bytes as a `Uint8Array`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptObject {
  readonly _tag: "ScriptObject"
  readonly classFqn: string
  readonly state: ReadonlyArray<string | Uint8Array>
}

// ===== Constructors =====

/**
 * A tensor over a storage. Defaults: contiguous strides, offset 0, cpu, no grad.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly storage: Storage
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly stride?: ReadonlyArray<number>
  readonly storageOffset?: number
  readonly device?: string
  readonly requiresGrad?: boolean
}): Tensor => ({
  _tag: "Tensor",
  storage: options.storage,
  dtype: options.dtype,
  shape: options.shape,
  stride: options.stride ?? contiguousStride(options.shape),
  storageOffset: options.storageOffset ?? 0,
  device: options.device ?? "cpu",
  requiresGrad: options.requiresGrad ?? false
})

/**
 * A storage over bytes (not copied).
 *
 * @since 0.1.0
 * @category constructors
 */
export const storage = (bytes: Uint8Array): Storage => ({ bytes })

// ===== Getters =====

const ITEM_SIZE: Readonly<Record<string, number>> = {
  bool: 1, uint8: 1, int8: 1, float8_e4m3fn: 1, float8_e5m2: 1, float8_e4m3fnuz: 1, float8_e5m2fnuz: 1,
  float8_e8m0fnu: 1, int16: 2, uint16: 2, float16: 2, bfloat16: 2, int32: 4, uint32: 4, float32: 4,
  complex32: 4, int64: 8, uint64: 8, float64: 8, complex64: 8, complex128: 16
}

/**
 * Bytes per element of a dtype (torch's name without `torch.`), or undefined for an unknown dtype.
 *
 * @since 0.1.0
 * @category getters
 */
export const itemSize = (dtype: string): number | undefined => (Object.hasOwn(ITEM_SIZE, dtype) ? ITEM_SIZE[dtype] : undefined)

/**
 * Row-major strides for a shape.
 *
 * @since 0.1.0
 * @category getters
 */
export const contiguousStride = (shape: ReadonlyArray<number>): ReadonlyArray<number> => {
  const stride = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s
    s *= Math.max(shape[i]!, 1)
  }
  return stride
}

/**
 * The number of storage elements a view reaches: `offset + Σ (size_i - 1) * stride_i + 1`, or 0 for an
 * empty view (any size 0): {@link bytesSpanned} in elements, as a number (exact up to 2^53).
 *
 * @since 0.1.0
 * @category getters
 */
export const elementsSpanned = (t: Pick<Tensor, "shape" | "stride" | "storageOffset">): number =>
  Number(bytesSpanned({ ...t, dtype: "uint8" }))

/**
 * The number of elements of a tensor.
 *
 * @since 0.1.0
 * @category getters
 */
export const numel = (t: Pick<Tensor, "shape">): number => t.shape.reduce((a, b) => a * b, 1)

/**
 * Whether a value is a {@link Tensor}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTensor = (u: Tensor | ScriptObject): u is Tensor => u._tag === "Tensor"

// ===== Rules =====

/**
 * What the tensor rules look at: a view's dtype, sizes, strides and offset (in elements) and whether it
 * requires grad. A stored tensor's are ints; a node value's (`meta.val`, a fake tensor's) may be symbolic
 * texts, which the rules leave to the symbols' ranges.
 *
 * @since 0.1.0
 * @category models
 */
export interface Layout {
  readonly dtype: string
  readonly shape: ReadonlyArray<number | string>
  readonly stride: ReadonlyArray<number | string>
  readonly storageOffset: number | string
  readonly requiresGrad: boolean
}

/**
 * A broken tensor rule: the field that breaks it (`index`: which dimension of `shape` or `stride`) and why, in
 * torch's words where torch has the rule. Readers locate it at their own spelling of the field; the writer
 * refuses the tensor with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Violation {
  readonly field: "dtype" | "shape" | "stride" | "storageOffset" | "requiresGrad" | "storage"
  readonly index?: number
  readonly detail: string
}

/**
 * The layout of a tensor's metadata as `meta["val"]` and the archives record it (`Meta.TensorMeta`).
 *
 * @since 0.1.0
 * @category getters
 */
export const layoutOfMeta = (m: {
  readonly dtype: string
  readonly shape: ReadonlyArray<number | string>
  readonly stride: ReadonlyArray<number | string>
  readonly storage_offset: number | string
  readonly requires_grad: boolean
}): Layout => ({ dtype: m.dtype, shape: m.shape, stride: m.stride, storageOffset: m.storage_offset, requiresGrad: m.requires_grad })

// torch's `storage_max()`: a storage's byte count is an int64 (and a size_t).
const STORAGE_MAX = 2n ** 63n - 1n

// `isFloatingType || isComplexType` of c10: the dtypes autograd differentiates.
const DIFFERENTIABLE = new Set([
  "float16", "bfloat16", "float32", "float64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
  "float8_e8m0fnu", "complex32", "complex64", "complex128"
])

/**
 * Whether a dtype can require gradients (floating point and complex dtypes).
 *
 * @since 0.1.0
 * @category getters
 */
export const isDifferentiable = (dtype: string): boolean => DIFFERENTIABLE.has(dtype)

const list = (xs: ReadonlyArray<number | string>): string => `[${xs.join(", ")}]`

/**
 * Why a layout is not one torch can hold, or undefined. The rules, in this order:
 * 1. The dtype is one trtx knows (its item size).
 * 2. One stride per size (torch's `as_strided`: "mismatch in length of strides and shape").
 * 3. Every int size, stride and offset is a safe integer: a JavaScript number holds nothing larger exactly.
 * 4. No size is negative ("Trying to create tensor with negative dimension -1: [-1, 3]"), no stride
 *    ("as_strided: Negative strides are not supported at the moment, got strides: [-1]"), nor the offset
 *    ("Tensor: invalid storage offset -1").
 * 5. Only a floating point or complex dtype requires grad ("Only Tensors of floating point and complex dtype
 *    can require gradients").
 * 6. When every entry is an int, the bytes the view spans ({@link bytesSpanned}) fit torch's storage size,
 *    an int64 ("Storage size calculation overflowed with sizes=[...] and strides=[...]"); and the element
 *    count of a shape of ints fits torch's `numel`, an int64, whatever the strides ("numel: integer
 *    multiplication overflow"), in torch's order. Both are counted exactly.
 *
 * @since 0.1.0
 * @category getters
 */
export const check = (t: Layout): Violation | undefined => (isPlainlyValid(t) ? undefined : violation(t))

// 2^53: below it, sums and products of non-negative integers are exact in floating point.
const EXACT = 2 ** 53

// Whether a layout certainly breaks no rule, decided without allocating, as for nearly every tensor a large
// program holds: a known dtype, as many strides as sizes, every entry a non-negative int, and a span and an
// element count below 2^53 (so exact, and far below 2^63). Anything else goes to `violation`, which decides
// exactly and says why.
const isPlainlyValid = (t: Layout): boolean => {
  const size = itemSize(t.dtype)
  const n = t.shape.length
  if (size === undefined || t.stride.length !== n) return false
  if (t.requiresGrad && !isDifferentiable(t.dtype)) return false
  const offset = t.storageOffset
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) return false
  let last = offset
  let numel = 1
  let empty = false
  for (let i = 0; i < n; i++) {
    const x = t.shape[i]
    const s = t.stride[i]
    if (typeof x !== "number" || typeof s !== "number" || !Number.isSafeInteger(x) || !Number.isSafeInteger(s) || x < 0 || s < 0) {
      return false
    }
    if (x === 0) empty = true
    else last += (x - 1) * s
    numel *= x
    if (last >= EXACT || numel >= EXACT) return false
  }
  return empty || (last + 1) * size < EXACT
}

// The rules of `check`, in order, exactly (bigints where a count may pass 2^53).
const violation = (t: Layout): Violation | undefined => {
  if (itemSize(t.dtype) === undefined) return { field: "dtype", detail: `dtype ${t.dtype} is not a torch dtype trtx knows` }
  if (t.stride.length !== t.shape.length) {
    return {
      field: "stride",
      detail: `${t.stride.length} strides for ${t.shape.length} sizes: torch refuses it ("mismatch in length of strides and shape")`
    }
  }
  const exact = (x: number | string) => typeof x === "string" || Number.isSafeInteger(x)
  for (const [field, xs] of [["shape", t.shape], ["stride", t.stride]] as const) {
    const i = xs.findIndex((x) => !exact(x))
    if (i >= 0) return { field, index: i, detail: `${xs[i]} is not an integer trtx holds exactly (at most 2^53 in magnitude)` }
  }
  if (!exact(t.storageOffset)) {
    return { field: "storageOffset", detail: `${t.storageOffset} is not an integer trtx holds exactly (at most 2^53 in magnitude)` }
  }
  const negative = (field: "shape" | "stride", xs: ReadonlyArray<number | string>, refusal: (x: number | string) => string) => {
    const i = xs.findIndex((x) => typeof x === "number" && x < 0)
    return i < 0 ? undefined : { field, index: i, detail: `torch refuses a negative ${refusal(xs[i]!)}` }
  }
  const refused =
    negative("shape", t.shape, (x) => `size ("Trying to create tensor with negative dimension ${x}: ${list(t.shape)}")`) ??
      negative("stride", t.stride, () => `stride ("as_strided: Negative strides are not supported at the moment, got strides: ${list(t.stride)}")`)
  if (refused !== undefined) return refused

  if (typeof t.storageOffset === "number" && t.storageOffset < 0) {
    return { field: "storageOffset", detail: `torch refuses a negative offset ("Tensor: invalid storage offset ${t.storageOffset}")` }
  }
  if (t.requiresGrad && !isDifferentiable(t.dtype)) {
    return {
      field: "requiresGrad",
      detail: `a ${t.dtype} tensor cannot require grad: torch refuses it ("Only Tensors of floating point and complex dtype can require gradients")`
    }
  }
  if (isConcrete(t) && bytesSpanned(t) > STORAGE_MAX) {
    return {
      field: "shape",
      detail: `the view spans more than 2^63 - 1 bytes, torch's largest storage ("Storage size calculation overflowed with sizes=${
        list(t.shape)
      } and strides=${list(t.stride)}")`
    }
  }
  // Only a shape of ints has a count to judge: a symbolic size may be 0.
  const numel = t.shape.every((x) => typeof x === "number") ? t.shape.reduce((a: bigint, x) => a * BigInt(x), 1n) : 0n
  if (numel > STORAGE_MAX) {
    return {
      field: "shape",
      detail: `${list(t.shape)} has more elements than torch's numel, an int64, holds ("numel: integer multiplication overflow")`
    }
  }
  return undefined
}

/**
 * Whether every size, stride and the offset of a layout is an int.
 *
 * @since 0.1.0
 * @category guards
 */
export const isConcrete = (
  t: Pick<Layout, "shape" | "stride" | "storageOffset">
): t is { readonly shape: ReadonlyArray<number>; readonly stride: ReadonlyArray<number>; readonly storageOffset: number } =>
  typeof t.storageOffset === "number" && t.shape.every((x) => typeof x === "number") &&
  t.stride.every((x) => typeof x === "number")

/**
 * The bytes of storage a view reaches, from the storage's start, counted exactly: torch's
 * `computeStorageNbytes` with the offset, `(offset + 1 + Σ (size_i - 1) * stride_i) * itemsize`, or 0 for an
 * empty view (any size 0), which needs no storage whatever its offset. Stride-0 (overlapping) dimensions
 * reach nothing further. Meant for a layout {@link check} accepts (an unknown dtype counts one byte).
 *
 * @since 0.1.0
 * @category getters
 */
export const bytesSpanned = (
  t: { readonly dtype: string; readonly shape: ReadonlyArray<number>; readonly stride: ReadonlyArray<number>; readonly storageOffset: number }
): bigint => {
  let last = BigInt(t.storageOffset)
  for (let i = 0; i < t.shape.length; i++) {
    const size = t.shape[i]!
    if (size === 0) return 0n
    last += BigInt(size - 1) * BigInt(t.stride[i] ?? 0)
  }
  return (last + 1n) * BigInt(itemSize(t.dtype) ?? 1)
}

/**
 * Why a view does not lie inside a storage of `bytes` bytes, or undefined: torch's `as_strided` bounds check
 * (`checkInBoundsForStorage`), which an empty view always passes. The layout must be one {@link check}
 * accepts, with int entries.
 *
 * @since 0.1.0
 * @category getters
 */
export const checkInBounds = (
  t: { readonly dtype: string; readonly shape: ReadonlyArray<number>; readonly stride: ReadonlyArray<number>; readonly storageOffset: number },
  bytes: number
): Violation | undefined => {
  const needed = bytesSpanned(t)
  if (needed <= BigInt(bytes)) return undefined
  return {
    field: "storage",
    detail: `the view reaches past its storage: torch refuses it ("setStorage: sizes ${list(t.shape)}, strides ${
      list(t.stride)
    }, storage offset ${t.storageOffset}, and itemsize ${itemSize(t.dtype)} requiring a storage size of ${needed} are out of bounds for storage of size ${bytes}")`
  }
}
