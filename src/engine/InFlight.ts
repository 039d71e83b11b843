/**
 * Async native work that cannot be cancelled. A copy on the libuv pool runs to its end even when the fiber
 * that started it is interrupted (interruption only stops the waiting), so a resource counts what is in
 * flight on it, and its release waits for that before freeing: a release then never meets `ERR_CUDA_BUSY`,
 * and memory is never freed under a running copy.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>()

  /** Registers a promise until it settles; returns it. */
  track<A>(promise: Promise<A>): Promise<A> {
    this.#pending.add(promise)
    const done = () => void this.#pending.delete(promise)
    promise.then(done, done)
    return promise
  }

  /** Settles once everything tracked so far has settled, successes and failures alike. */
  idle(): Promise<void> {
    return Promise.allSettled([...this.#pending]).then(() => undefined)
  }
}
