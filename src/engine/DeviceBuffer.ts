/**
 * Device memory as a scoped resource: `Cuda.deviceBuffer` acquires it (`cudaMalloc`) and its Scope frees
 * it on success, failure and interruption, after any copy still in flight on it has finished.
 *
 * Copies take any `ArrayBufferView` (a Buffer, a TypedArray, a DataView) or a `HostBuffer`.
 * `upload`/`download` run on the libuv pool and leave the JS thread free; `uploadSync`/`downloadSync` block
 * it. From page-locked memory (`HostBuffer`) both run at the DMA engine's speed, and a `HostBuffer`'s release
 * waits for the async copies that use it.
 *
 * **Gotcha.** Don't transfer or detach a view's ArrayBuffer while a copy that uses it is in flight: the
 * addon keeps the view alive, but cannot stop a transfer.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type CudaError, fromNative, invalidArgument } from "./EngineError.ts"
import { HostBuffer } from "./HostBuffer.ts"
import { InFlight } from "./InFlight.ts"
import type { NativeCopyOptions, NativeDeviceBuffer } from "./Native.ts"
import type { Stream } from "./Stream.ts"

/**
 * Where a copy lands in device memory, and on which stream it runs (none: the legacy default stream).
 *
 * @since 0.1.0
 * @category models
 */
export interface CopyOptions {
  readonly offset?: number
  readonly stream?: Stream
}

const checkCopy = (op: string, buffer: DeviceBuffer, host: ArrayBufferView, options: CopyOptions): CudaError | undefined => {
  if (!ArrayBuffer.isView(host)) return invalidArgument(op, "expected a Buffer, TypedArray or DataView")
  const offset = options.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0) return invalidArgument(op, `offset ${offset} is not a non-negative integer`)
  if (offset + host.byteLength > buffer.byteLength) {
    return invalidArgument(op, `${host.byteLength} bytes at offset ${offset} do not fit ${buffer.byteLength} bytes`)
  }
  if (options.stream !== undefined && options.stream.device !== buffer.device) {
    return invalidArgument(op, `the stream is on device ${options.stream.device}, the buffer on ${buffer.device}`)
  }
  return undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class DeviceBuffer {
  /** The addon's object; for the addon's other calls (TensorRT's bindings). */
  readonly native: NativeDeviceBuffer
  readonly #inFlight = new InFlight()

  constructor(native: NativeDeviceBuffer) {
    this.native = native
  }

  get byteLength(): number {
    return this.native.byteLength
  }

  get device(): number {
    return this.native.device
  }

  /** Whether the memory was freed (its Scope closed). */
  get freed(): boolean {
    return this.native.freed
  }

  /** Copies `src` to the device on the libuv pool. */
  upload(src: ArrayBufferView | HostBuffer, options: CopyOptions = {}): Effect.Effect<void, CudaError> {
    return this.#async("DeviceBuffer.upload", src, options, (view, o) => this.native.copyFromHostAsync(view, o))
  }

  /** Copies device memory into `dst` on the libuv pool. */
  download(dst: ArrayBufferView | HostBuffer, options: CopyOptions = {}): Effect.Effect<void, CudaError> {
    return this.#async("DeviceBuffer.download", dst, options, (view, o) => this.native.copyToHostAsync(view, o))
  }

  /** Copies `src` to the device on this thread (`cudaMemcpy`). */
  uploadSync(src: ArrayBufferView | HostBuffer, options: { readonly offset?: number } = {}): Effect.Effect<void, CudaError> {
    return this.#sync("DeviceBuffer.uploadSync", src, options, (view) => this.native.copyFromHost(view, options.offset ?? 0))
  }

  /** Copies device memory into `dst` on this thread (`cudaMemcpy`). */
  downloadSync(dst: ArrayBufferView | HostBuffer, options: { readonly offset?: number } = {}): Effect.Effect<void, CudaError> {
    return this.#sync("DeviceBuffer.downloadSync", dst, options, (view) => this.native.copyToHost(view, options.offset ?? 0))
  }

  #sync(
    op: string,
    host: ArrayBufferView | HostBuffer,
    options: CopyOptions,
    copy: (view: ArrayBufferView) => void
  ): Effect.Effect<void, CudaError> {
    return Effect.suspend(() => {
      const view = host instanceof HostBuffer ? host.bytes : host
      const invalid = checkCopy(op, this, view, options)
      if (invalid !== undefined) return Effect.fail(invalid)
      return Effect.try({ try: () => copy(view), catch: (e) => fromNative(op, e) as CudaError })
    })
  }

  #async(
    op: string,
    host: ArrayBufferView | HostBuffer,
    options: CopyOptions,
    copy: (view: ArrayBufferView, o: NativeCopyOptions) => Promise<number>
  ): Effect.Effect<void, CudaError> {
    return Effect.suspend(() => {
      const view = host instanceof HostBuffer ? host.bytes : host
      const invalid = checkCopy(op, this, view, options)
      if (invalid !== undefined) return Effect.fail(invalid)
      const native: NativeCopyOptions = {
        deviceOffset: options.offset ?? 0,
        ...(options.stream === undefined ? {} : { stream: options.stream.native })
      }
      return Effect.tryPromise({
        try: () => {
          const promise = this.#inFlight.track(copy(view, native))
          options.stream?.inFlight.track(promise)
          if (host instanceof HostBuffer) host.inFlight.track(promise)
          return promise
        },
        catch: (e) => fromNative(op, e) as CudaError
      }).pipe(Effect.asVoid)
    })
  }

  /** @internal the Scope's release: waits for copies in flight, then frees (idempotent). */
  async release(): Promise<void> {
    await this.#inFlight.idle()
    this.native.free()
  }
}
