/**
 * The errors of the GPU layer (`src/engine`): the native addon's failures, mapped in one place
 * ({@link fromNative}), and the engine checks'.
 *
 * - {@link CudaUnavailable}: CUDA cannot be used here, and why (no runtime, no driver, no device, …);
 * - {@link CudaError}: a CUDA call or a lifetime rule failed; `code` is the CUDA error's enum name
 *   (`cudaErrorMemoryAllocation`) or the addon's own code (`ERR_CUDA_FREED`, `ERR_INVALID_ARG_VALUE`, …);
 * - {@link TensorRTUnavailable}: no TensorRT backend or library here, and why;
 * - {@link TrtError}: TensorRT refused an engine or an execution (`ERR_TENSORRT_*`);
 * - {@link IncompatibleEngine}: an engine record cannot run on this machine's GPUs or platform.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// ===== Models =====

/**
 * Why CUDA cannot be used: the addon's reasons (`native/cuda_runtime.h`), plus `addon-not-loaded` (the
 * addon was not built or does not load) and `disabled` (the no-GPU layer).
 *
 * @since 0.1.0
 * @category models
 */
export const CudaReason = Schema.Literals([
  "ok",
  "no-runtime",
  "missing-symbol",
  "no-driver",
  "driver-too-old",
  "no-device",
  "error",
  "addon-not-loaded",
  "disabled"
])

/**
 * @since 0.1.0
 * @category models
 */
export type CudaReason = typeof CudaReason.Type

/**
 * Why TensorRT cannot be used: `not-compiled` (the addon was built without `TENSORRT_ROOT`), `no-library`
 * (no `libnvinfer.so.<major>`), `missing-symbol`, `version-mismatch` (a library of another major than the
 * headers), `no-cuda` (CUDA itself is unavailable).
 *
 * @since 0.1.0
 * @category models
 */
export const TensorRTReason = Schema.Literals([
  "ok",
  "not-compiled",
  "no-library",
  "missing-symbol",
  "version-mismatch",
  "no-cuda"
])

/**
 * @since 0.1.0
 * @category models
 */
export type TensorRTReason = typeof TensorRTReason.Type

/**
 * Why an engine cannot run here (upstream `find_compatible_devices` and the C++ runtime's platform check).
 *
 * @since 0.1.0
 * @category models
 */
export const IncompatibleReason = Schema.Literals([
  "Platform", // TARGET_PLATFORM is not this machine's
  "DeviceType", // a DLA engine: this port runs GPU engines only
  "ComputeCapability" // no local GPU has the record's compute capability (or >= 8.0 for hardware-compatible engines)
])

/**
 * @since 0.1.0
 * @category models
 */
export type IncompatibleReason = typeof IncompatibleReason.Type

// ===== Errors =====

/**
 * @since 0.1.0
 * @category errors
 */
export class CudaUnavailable extends Schema.TaggedError<CudaUnavailable>()("CudaUnavailable", {
  reason: CudaReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `CUDA is unavailable (${this.reason})${this.detail === "" ? "" : `: ${this.detail}`}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class CudaError extends Schema.TaggedError<CudaError>()("CudaError", {
  code: Schema.String,
  op: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.op}: ${this.code}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class TensorRTUnavailable extends Schema.TaggedError<TensorRTUnavailable>()("TensorRTUnavailable", {
  reason: TensorRTReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `TensorRT is unavailable (${this.reason})${this.detail === "" ? "" : `: ${this.detail}`}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class TrtError extends Schema.TaggedError<TrtError>()("TrtError", {
  code: Schema.String,
  op: Schema.String,
  engine: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `engine ${JSON.stringify(this.engine)}: ${this.op}: ${this.code}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class IncompatibleEngine extends Schema.TaggedError<IncompatibleEngine>()("IncompatibleEngine", {
  engine: Schema.String,
  reason: IncompatibleReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `engine ${JSON.stringify(this.engine)} cannot run here: ${this.detail}`
  }
}

// ===== Mapping =====

const field = (e: unknown, key: string): unknown =>
  typeof e === "object" && e !== null ? (e as Record<string, unknown>)[key] : undefined

const isTensorRTReason = Schema.is(TensorRTReason)
const isCudaReason = Schema.is(CudaReason)

/**
 * The one mapping of what the addon throws: every native error carries a string `code` (`native/errors.h`).
 * `ERR_CUDA_UNAVAILABLE` and `ERR_TENSORRT_UNAVAILABLE` become the unavailability errors with their reason,
 * other `ERR_TENSORRT_*` codes a {@link TrtError} when an engine name is given, the rest a {@link CudaError}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromNative = (
  op: string,
  e: unknown,
  engine?: string
): CudaUnavailable | CudaError | TensorRTUnavailable | TrtError => {
  const code = field(e, "code")
  const message = field(e, "message")
  const detail = typeof message === "string" ? message : String(e)
  const reason = field(e, "reason")
  if (code === "ERR_CUDA_UNAVAILABLE" && isCudaReason(reason)) return new CudaUnavailable({ reason, detail })
  if (code === "ERR_TENSORRT_UNAVAILABLE" && isTensorRTReason(reason)) return new TensorRTUnavailable({ reason, detail })
  const nativeOp = field(e, "op")
  const at = typeof nativeOp === "string" ? `${op} (${nativeOp})` : op
  const text = typeof code === "string" ? code : "ERR_NATIVE"
  if (engine !== undefined && text.startsWith("ERR_TENSORRT")) return new TrtError({ code: text, op: at, engine, detail })
  return new CudaError({ code: text, op: at, detail })
}

/**
 * A JS-side argument check's failure, raised before anything native is called.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalidArgument = (op: string, detail: string): CudaError =>
  new CudaError({ code: "ERR_INVALID_ARG_VALUE", op, detail })
