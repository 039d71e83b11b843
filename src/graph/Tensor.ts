/**
 * Module state: tensors as views into shared, immutable storages, and TorchScript objects.
 *
 * A {@link Storage} is the bytes of one whole untyped storage (torch's `UntypedStorage`); a {@link Tensor} is
 * a view into it (dtype, shape, stride and offset in elements), exactly as a `.tgm` TensorRef or a `.pt2`
 * weights entry describes one. Two tensors on one storage alias it (tied weights, transposed views). Bytes
 * are never copied by the IR: copying a module shares its storages and engine blobs.
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
 * empty view (any size 0). Negative strides are not torch's and count as reaching nothing backwards.
 *
 * @since 0.1.0
 * @category getters
 */
export const elementsSpanned = (t: Pick<Tensor, "shape" | "stride" | "storageOffset">): number => {
  let last = t.storageOffset
  for (let i = 0; i < t.shape.length; i++) {
    const size = t.shape[i]!
    if (size === 0) return 0
    last += (size - 1) * Math.max(t.stride[i] ?? 0, 0)
  }
  return last + 1
}

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
