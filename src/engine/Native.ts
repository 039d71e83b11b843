/**
 * The native addon `build/Release/trtx_native.node` (sources in `native/`): its JavaScript surface as
 * types, and its loading. Everything else in `src/engine` goes through the services built on it (`Cuda`,
 * `TrtEngine`); nothing here is an Effect.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

// ===== Models =====

/**
 * `status()`: whether CUDA can be used and, when not, why (never throws).
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeStatus {
  readonly available: boolean
  readonly reason: string
  readonly detail: string
  readonly libraryPath: string | null
  readonly runtimeVersion: number
  readonly driverVersion: number
  readonly deviceCount: number
}

/**
 * `tensorrt()`: whether engines can be deserialized and, when not, why (never throws).
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeTensorRT {
  readonly available: boolean
  readonly reason: string
  readonly detail: string
  /** `NV_TENSORRT_MAJOR` of the headers the backend was compiled with; 0 without a backend. */
  readonly compiledMajor: number
  readonly libraryPath: string | null
  readonly version: string | null
}

/**
 * `deviceProperties(device)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeDeviceProperties {
  readonly ordinal: number
  readonly name: string
  readonly uuid: string
  readonly major: number
  readonly minor: number
  readonly multiProcessorCount: number
  readonly l2CacheBytes: number
  readonly memoryBusWidthBits: number
  readonly pciBusId: string
  readonly totalMemory: number
}

/**
 * `stats()`: live native objects of the whole process, every worker thread included.
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeStats {
  readonly liveBuffers: number
  readonly liveBytes: number
  readonly explicitFrees: number
  readonly finalizerFrees: number
  readonly liveStreams: number
  readonly livePins: number
  readonly liveEngines: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NativeStream {
  readonly destroyed: boolean
  readonly device: number
  synchronize(): void
  synchronizeAsync(): Promise<void>
  destroy(): boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NativeCopyOptions {
  readonly stream?: NativeStream
  readonly deviceOffset?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NativeDeviceBuffer {
  readonly byteLength: number
  readonly device: number
  readonly freed: boolean
  /** The device pointer (TensorRT's `setTensorAddress` takes it); throws once freed. */
  readonly address: bigint
  free(): boolean
  copyFromHost(src: ArrayBufferView, deviceOffset?: number): void
  copyToHost(dst: ArrayBufferView, deviceOffset?: number): void
  /** Resolves with the seconds the copy took on the libuv pool thread. */
  copyFromHostAsync(src: ArrayBufferView, options?: NativeCopyOptions): Promise<number>
  copyToHostAsync(dst: ArrayBufferView, options?: NativeCopyOptions): Promise<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NativeHostPin {
  readonly released: boolean
  release(): boolean
}

/**
 * A binding of a TensorRT engine; `-1` in `shape` marks a dynamic dimension.
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeBinding {
  readonly name: string
  readonly mode: "input" | "output"
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NativeTrtEngine {
  readonly disposed: boolean
  readonly device: number
  bindings(): ReadonlyArray<NativeBinding>
  execute(
    buffers: Readonly<Record<string, NativeDeviceBuffer>>,
    stream: NativeStream,
    inputShapes?: Readonly<Record<string, ReadonlyArray<number>>>
  ): void
  dispose(): boolean
}

/**
 * The addon's exports. `TrtEngine` exists only in a build with the TensorRT backend.
 *
 * @since 0.1.0
 * @category models
 */
export interface NativeAddon {
  status(): NativeStatus
  tensorrt(): NativeTensorRT
  deviceProperties(device?: number): NativeDeviceProperties
  memInfo(device?: number): { readonly free: number; readonly total: number }
  stats(): NativeStats
  readonly DeviceBuffer: new(byteLength: number | bigint, device?: number) => NativeDeviceBuffer
  readonly Stream: new(device?: number) => NativeStream
  readonly HostPin: new(memory: ArrayBufferView) => NativeHostPin
  readonly TrtEngine?: new(plan: Uint8Array, device: number) => NativeTrtEngine
}

// ===== Loading =====

/**
 * Where `npm ci` (native/build.cjs) puts the addon: `build/Release` at the package's root, two folders above
 * this file both in `src/engine` and in `dist/engine`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPath: string = fileURLToPath(new URL("../../build/Release/trtx_native.node", import.meta.url))

const loaded = new Map<string, Result.Result<NativeAddon, string>>()

/**
 * Loads the addon once per path: `$TRTX_NATIVE_ADDON` when set, else {@link defaultPath}. A failure is kept, so
 * a second call does not retry: for an addon that is not built, how to build it; otherwise (wrong platform,
 * a broken file) the loader's message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (path: string = process.env.TRTX_NATIVE_ADDON ?? defaultPath): Result.Result<NativeAddon, string> => {
  const known = loaded.get(path)
  if (known !== undefined) return known
  let result: Result.Result<NativeAddon, string>
  try {
    result = fs.existsSync(path)
      ? Result.succeed(createRequire(import.meta.url)(path) as NativeAddon)
      : Result.fail(
        `${path}: the native addon is not built (an install without a C++ compiler skips it). trtx reads, exports ` +
          "and writes without it; for its GPU features, install a C++ compiler and Python 3, then run " +
          "`npm run build:addon` in the trtx package folder"
      )
  } catch (e) {
    result = Result.fail(`${path}: ${e instanceof Error ? e.message : String(e)}`)
  }
  loaded.set(path, result)
  return result
}
