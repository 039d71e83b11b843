/**
 * The `Cuda` service: whether CUDA can be used here and why not, the devices, and GPU memory and streams
 * as resources of a `Scope`, so that memory comes back on success, failure and interruption alike.
 *
 * - `Cuda.layer` loads the native addon (`native/`); it always builds, also on a machine without a GPU,
 *   where `status` says why CUDA is unavailable and every entry point fails with that
 *   {@link CudaUnavailable};
 * - `Cuda.layerNoGpu` never touches the addon: CPU-only runs and tests;
 * - `Cuda.layerFrom(path)` loads the addon from another path.
 *
 * Arguments are checked here, before anything native runs, and fail with a {@link CudaError} of code
 * `ERR_INVALID_ARG_VALUE`. The native finalizers are a safety net only: the Scope frees.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Result } from "effect"
import type { Scope } from "effect"
import { DeviceBuffer } from "./DeviceBuffer.ts"
import {
  type CudaError,
  type CudaReason,
  CudaUnavailable,
  fromNative,
  invalidArgument,
  type TensorRTReason
} from "./EngineError.ts"
import { HostBuffer } from "./HostBuffer.ts"
import * as Native from "./Native.ts"
import { Stream } from "./Stream.ts"

// ===== Models =====

/**
 * Whether CUDA can be used, and why not.
 *
 * @since 0.1.0
 * @category models
 */
export interface CudaStatus {
  readonly available: boolean
  readonly reason: CudaReason
  readonly detail: string
  readonly runtimeVersion: number
  readonly driverVersion: number
  readonly deviceCount: number
}

/**
 * Whether TensorRT engines can be deserialized, and why not.
 *
 * @since 0.1.0
 * @category models
 */
export interface TensorRTStatus {
  readonly available: boolean
  readonly reason: TensorRTReason
  readonly detail: string
  readonly version: string | null
}

/**
 * A device's properties: compute capability `major.minor`, name as the record's DEVICE field holds it.
 *
 * @since 0.1.0
 * @category models
 */
export type DeviceProperties = Native.NativeDeviceProperties

/**
 * @since 0.1.0
 * @category models
 */
export interface MemInfo {
  readonly free: number
  readonly total: number
}

type Failure = CudaUnavailable | CudaError

/**
 * @since 0.1.0
 * @category services
 */
export class Cuda extends Context.Service<Cuda, {
  readonly status: CudaStatus
  readonly tensorrt: TensorRTStatus
  /** Every visible device's properties. */
  readonly devices: Effect.Effect<ReadonlyArray<DeviceProperties>, Failure>
  readonly memInfo: (device?: number) => Effect.Effect<MemInfo, Failure>
  /** Live native objects of the whole process (leak checks). */
  readonly stats: Effect.Effect<Native.NativeStats, CudaUnavailable>
  /** `byteLength` bytes of device memory, freed when the Scope closes. */
  readonly deviceBuffer: (byteLength: number, device?: number) => Effect.Effect<DeviceBuffer, Failure, Scope.Scope>
  /** `byteLength` bytes of page-locked host memory, unregistered when the Scope closes. */
  readonly hostBuffer: (byteLength: number) => Effect.Effect<HostBuffer, Failure, Scope.Scope>
  /** A non-blocking stream, destroyed when the Scope closes. */
  readonly stream: (device?: number) => Effect.Effect<Stream, Failure, Scope.Scope>
  /** @internal the loaded addon, for `TrtEngine`; undefined where CUDA is unavailable. */
  readonly addon: Native.NativeAddon | undefined
}>()("trtx/Cuda") {
  /**
   * The addon at its default path (`$TRTX_NATIVE_ADDON` overrides it). Never fails.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layer: Layer.Layer<Cuda> = Layer.sync(Cuda, () => make(Native.load()))

  /**
   * The addon at `path`. Never fails: an addon that does not load is `addon-not-loaded`.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerFrom = (path: string): Layer.Layer<Cuda> => Layer.sync(Cuda, () => make(Native.load(path)))

  /**
   * No GPU, without loading anything: every entry point fails with `CudaUnavailable("disabled")`.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layerNoGpu: Layer.Layer<Cuda> = Layer.sync(
    Cuda,
    () => unavailable("disabled", "the no-GPU layer (Cuda.layerNoGpu) is in use")
  )
}

// ===== Constructors =====

const unavailable = (reason: CudaReason, detail: string, addon?: Native.NativeAddon): Cuda["Service"] => {
  const error = new CudaUnavailable({ reason, detail })
  const nativeTrt = addon?.tensorrt()
  const tensorrt: TensorRTStatus = {
    available: false,
    // Where the backend is missing, that is the first thing to fix; otherwise CUDA is.
    reason: nativeTrt?.reason === "not-compiled" ? "not-compiled" : "no-cuda",
    detail: nativeTrt?.reason === "not-compiled" ? nativeTrt.detail : error.message,
    version: nativeTrt?.version ?? null
  }
  return Cuda.of({
    status: { available: false, reason, detail, runtimeVersion: 0, driverVersion: 0, deviceCount: 0 },
    tensorrt,
    devices: Effect.fail(error),
    memInfo: (device) => Effect.andThen(checkDevice("Cuda.memInfo", device), Effect.fail(error)),
    stats: addon === undefined ? Effect.fail(error) : Effect.sync(() => addon.stats()),
    deviceBuffer: (bytes, device) =>
      Effect.andThen(checkBytes("Cuda.deviceBuffer", bytes), checkDevice("Cuda.deviceBuffer", device)).pipe(
        Effect.andThen(Effect.fail(error))
      ),
    hostBuffer: (bytes) => Effect.andThen(checkBytes("Cuda.hostBuffer", bytes), Effect.fail(error)),
    stream: (device) => Effect.andThen(checkDevice("Cuda.stream", device), Effect.fail(error)),
    addon: undefined
  })
}

// Argument checks first, so that a bad call fails the same way with or without a GPU.
const checkBytes = (op: string, bytes: number): Effect.Effect<void, CudaError> =>
  typeof bytes === "number" && Number.isSafeInteger(bytes) && bytes > 0
    ? Effect.void
    : Effect.fail(invalidArgument(op, `byteLength ${String(bytes)} is not a positive safe integer`))

const checkDevice = (op: string, device: number | undefined, count?: number): Effect.Effect<void, CudaError> => {
  if (device === undefined) return Effect.void
  if (typeof device !== "number" || !Number.isSafeInteger(device) || device < 0) {
    return Effect.fail(invalidArgument(op, `device ${String(device)} is not a non-negative integer`))
  }
  if (count !== undefined && device >= count) {
    return Effect.fail(invalidArgument(op, `device ${device} is not one of the ${count} visible`))
  }
  return Effect.void
}

const isCudaReason = (reason: string): reason is CudaReason =>
  ["ok", "no-runtime", "missing-symbol", "no-driver", "driver-too-old", "no-device", "error"].includes(reason)

const isTensorRTReason = (reason: string): reason is TensorRTReason =>
  ["ok", "not-compiled", "no-library", "missing-symbol", "version-mismatch"].includes(reason)

/**
 * The service over a loaded addon (or the reason it did not load).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (loaded: Result.Result<Native.NativeAddon, string>): Cuda["Service"] => {
  if (Result.isFailure(loaded)) return unavailable("addon-not-loaded", loaded.failure)
  const addon = loaded.success
  const native = addon.status()
  if (!native.available) return unavailable(isCudaReason(native.reason) ? native.reason : "error", native.detail, addon)
  const trt = addon.tensorrt()
  const count = native.deviceCount
  const call = <A>(op: string, f: () => A): Effect.Effect<A, Failure> =>
    Effect.try({ try: f, catch: (e) => fromNative(op, e) as Failure })
  return Cuda.of({
    status: {
      available: true,
      reason: "ok",
      detail: native.detail,
      runtimeVersion: native.runtimeVersion,
      driverVersion: native.driverVersion,
      deviceCount: count
    },
    tensorrt: {
      available: trt.available,
      reason: isTensorRTReason(trt.reason) ? trt.reason : "missing-symbol",
      detail: trt.detail,
      version: trt.version
    },
    devices: call("Cuda.devices", () => Array.from({ length: count }, (_, i) => addon.deviceProperties(i))),
    memInfo: (device = 0) =>
      Effect.andThen(checkDevice("Cuda.memInfo", device, count), call("Cuda.memInfo", () => addon.memInfo(device))),
    stats: Effect.sync(() => addon.stats()),
    deviceBuffer: (bytes, device = 0) =>
      Effect.andThen(
        Effect.andThen(checkBytes("Cuda.deviceBuffer", bytes), checkDevice("Cuda.deviceBuffer", device, count)),
        Effect.acquireRelease(
          call("Cuda.deviceBuffer", () => new DeviceBuffer(new addon.DeviceBuffer(bytes, device))),
          (buffer) => Effect.promise(() => buffer.release())
        )
      ),
    hostBuffer: (bytes) =>
      Effect.andThen(
        checkBytes("Cuda.hostBuffer", bytes),
        Effect.acquireRelease(
          call("Cuda.hostBuffer", () => {
            const memory = Buffer.allocUnsafeSlow(bytes) // its own ArrayBuffer: never a slice of Node's pool
            return new HostBuffer(memory, new addon.HostPin(memory))
          }),
          (host) => Effect.promise(() => host.release())
        )
      ),
    stream: (device = 0) =>
      Effect.andThen(
        checkDevice("Cuda.stream", device, count),
        Effect.acquireRelease(
          call("Cuda.stream", () => new Stream(new addon.Stream(device))),
          (stream) => Effect.promise(() => stream.release())
        )
      ),
    addon
  })
}
