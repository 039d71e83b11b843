/**
 * A CUDA stream (non-blocking) as a scoped resource: `Cuda.stream` acquires it and its Scope destroys it,
 * after the work in flight on it has finished.
 *
 * **Gotcha.** Acquire a stream before the buffers that use it: a Scope releases in reverse order, so the
 * buffers go first.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type CudaError, fromNative } from "./EngineError.ts"
import { InFlight } from "./InFlight.ts"
import type { NativeStream } from "./Native.ts"

/**
 * @since 0.1.0
 * @category models
 */
export class Stream {
  /** The addon's object; for the addon's other calls (copies, TensorRT's enqueue). */
  readonly native: NativeStream
  /** @internal copies and executions on this stream register here, so that release waits for them. */
  readonly inFlight = new InFlight()

  constructor(native: NativeStream) {
    this.native = native
  }

  /** The device the stream is on. */
  get device(): number {
    return this.native.device
  }

  /** Waits, on the libuv pool, until the stream has run everything enqueued on it. */
  get synchronize(): Effect.Effect<void, CudaError> {
    return Effect.tryPromise({
      try: () => this.inFlight.track(this.native.synchronizeAsync()),
      catch: (e) => fromNative("Stream.synchronize", e) as CudaError
    })
  }

  /** @internal the Scope's release: waits for work in flight, then destroys (idempotent). */
  async release(): Promise<void> {
    await this.inFlight.idle()
    this.native.destroy()
  }
}
