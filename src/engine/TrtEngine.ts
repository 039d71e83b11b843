/**
 * A TensorRT engine as a scoped resource, built from an engine record (`src/program/EngineRecord.ts`):
 * the record is validated (ABI and fields), checked against the local GPUs and platform (`Compatibility`),
 * then its engine bytes are deserialized on the chosen device through the addon's TensorRT backend. The
 * Scope disposes it. Where TensorRT is missing (no backend compiled, no libnvinfer) acquiring fails with
 * {@link TensorRTUnavailable} and its reason, before anything is deserialized.
 *
 * `execute` binds device buffers by binding name, enqueues on a stream and waits for it; it takes and
 * returns device buffers, so data stays on the GPU between engines.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import type { Scope } from "effect"
import * as EngineRecord from "../program/EngineRecord.ts"
import type { EngineRecordError } from "../program/EngineRecordError.ts"
import * as Compatibility from "./Compatibility.ts"
import { Cuda } from "./Cuda.ts"
import type { DeviceBuffer } from "./DeviceBuffer.ts"
import {
  type CudaError,
  CudaUnavailable,
  fromNative,
  type IncompatibleEngine,
  TensorRTUnavailable,
  TrtError
} from "./EngineError.ts"
import type { NativeBinding, NativeTrtEngine } from "./Native.ts"
import type { Stream } from "./Stream.ts"

/**
 * A binding of the engine: TensorRT's name, direction, dtype (torch's name) and shape (`-1`: dynamic).
 *
 * @since 0.1.0
 * @category models
 */
export type Binding = NativeBinding

/**
 * @since 0.1.0
 * @category models
 */
export interface ExecuteOptions {
  readonly stream: Stream
  /** Shapes of inputs with dynamic dimensions, by binding name. */
  readonly inputShapes?: Readonly<Record<string, ReadonlyArray<number>>>
}

/**
 * @since 0.1.0
 * @category models
 */
export class TrtEngine {
  readonly name: string
  readonly device: number
  readonly bindings: ReadonlyArray<Binding>
  readonly #native: NativeTrtEngine

  constructor(name: string, native: NativeTrtEngine) {
    this.name = name
    this.#native = native
    this.device = native.device
    this.bindings = native.bindings()
  }

  /**
   * Runs the engine: `buffers` holds one device buffer per input and output binding, by name. Resolves
   * once the stream has finished, with the output buffers by name.
   */
  execute(
    buffers: Readonly<Record<string, DeviceBuffer>>,
    options: ExecuteOptions
  ): Effect.Effect<Readonly<Record<string, DeviceBuffer>>, TrtError | CudaError> {
    return Effect.suspend(() => {
      const fail = (detail: string) =>
        Effect.fail(new TrtError({ code: "ERR_TENSORRT_BINDING", op: "TrtEngine.execute", engine: this.name, detail }))
      for (const b of this.bindings) if (buffers[b.name] === undefined) return fail(`no buffer for binding ${b.name}`)
      for (const name of Object.keys(buffers)) {
        if (!this.bindings.some((b) => b.name === name)) return fail(`the engine has no binding named ${name}`)
      }
      const native = Object.fromEntries(Object.entries(buffers).map(([n, b]) => [n, b.native]))
      return Effect.try({
        try: () => this.#native.execute(native, options.stream.native, options.inputShapes),
        catch: (e) => fromNative("TrtEngine.execute", e, this.name) as TrtError | CudaError
      }).pipe(
        Effect.andThen(options.stream.synchronize),
        Effect.as(Object.fromEntries(this.bindings.filter((b) => b.mode === "output").map((b) => [b.name, buffers[b.name]!])))
      )
    })
  }

  /** @internal the Scope's release (idempotent). */
  release(): void {
    this.#native.dispose()
  }
}

/**
 * Validates the record, checks it against the local GPUs, and deserializes its engine on the chosen device;
 * the Scope disposes the engine.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  record: EngineRecord.EngineRecord
): Effect.Effect<
  TrtEngine,
  EngineRecordError | CudaUnavailable | CudaError | IncompatibleEngine | TensorRTUnavailable | TrtError,
  Cuda | Scope.Scope
> =>
  Effect.gen(function*() {
    // A record built by hand is held to the decoder's rules: encode it and decode it back, located by field.
    const valid = EngineRecord.decodeRaw(EngineRecord.encodeRaw(record), record.name)
    if (Result.isFailure(valid)) return yield* Effect.fail(valid.failure)
    const cuda = yield* Cuda
    const addon = cuda.addon
    if (!cuda.status.available || addon === undefined) {
      return yield* Effect.fail(new CudaUnavailable({ reason: cuda.status.reason, detail: cuda.status.detail }))
    }
    const device = Compatibility.select(valid.success, yield* cuda.devices)
    if (Result.isFailure(device)) return yield* Effect.fail(device.failure)
    const Engine = addon.TrtEngine
    if (!cuda.tensorrt.available || Engine === undefined) {
      return yield* Effect.fail(new TensorRTUnavailable({ reason: cuda.tensorrt.reason, detail: cuda.tensorrt.detail }))
    }
    const engine = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new TrtEngine(record.name, new Engine(record.engine, device.success.ordinal)),
        catch: (e) =>
          fromNative("TrtEngine.make", e, record.name) as CudaUnavailable | CudaError | TensorRTUnavailable | TrtError
      }),
      (engine) => Effect.sync(() => engine.release())
    )
    // The record names the bindings the module feeds and reads: the engine must have exactly those.
    const missing = [...record.inputBindingNames, ...record.outputBindingNames].filter((n) =>
      !engine.bindings.some((b) => b.name === n)
    )
    if (missing.length > 0) {
      return yield* Effect.fail(
        new TrtError({
          code: "ERR_TENSORRT_BINDING",
          op: "TrtEngine.make",
          engine: record.name,
          detail: `the record names bindings the engine lacks: ${missing.join(", ")}`
        })
      )
    }
    return engine
  })
