/**
 * Page-locked host memory as a scoped resource: `Cuda.hostBuffer` allocates a Buffer and registers its
 * pages with CUDA (`cudaHostRegister`), so that copies from and to it run at the DMA engine's speed (several
 * times faster than from pageable memory). The Scope unregisters it.
 *
 * The memory itself stays V8's: `bytes` remains a valid Buffer after the Scope closes (only slower to copy),
 * so no view of it can ever point at freed memory, as one of `cudaMallocHost` memory could.
 *
 * @since 0.1.0
 */
import { InFlight } from "./InFlight.ts"
import type { NativeHostPin } from "./Native.ts"

/**
 * @since 0.1.0
 * @category models
 */
export class HostBuffer {
  /** The page-locked bytes. */
  readonly bytes: Buffer
  /** @internal async copies from or to it register here, so that release waits for them. */
  readonly inFlight = new InFlight()
  readonly #pin: NativeHostPin

  constructor(bytes: Buffer, pin: NativeHostPin) {
    this.bytes = bytes
    this.#pin = pin
  }

  get byteLength(): number {
    return this.bytes.byteLength
  }

  /** Whether the pages are still page-locked (the Scope is open). */
  get pinned(): boolean {
    return !this.#pin.released
  }

  /** @internal the Scope's release: waits for copies in flight, then unregisters (idempotent). */
  async release(): Promise<void> {
    await this.inFlight.idle()
    this.#pin.release()
  }
}
