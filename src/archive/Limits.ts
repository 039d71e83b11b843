/**
 * The bounds every archive read is held to, checked before the work they bound: an archive that would pass
 * one fails at once with `EntryTooLarge` naming the limit, instead of costing the memory or time first.
 *
 * The defaults admit every real model we know of by a wide margin; a program of a user's raises one with
 * `Effect.provideService(Limits, { ...defaults, jsonBytes: 2 ** 31 })`, and the CLI with its `--max-*` options.
 * What no option raises, because the code's own stack bounds it, is JSON nesting ({@link Json.MAX_DEPTH}).
 *
 * @since 0.1.0
 */
import { Context } from "effect"

// ===== Models =====

/**
 * The bounds of one read.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  /** Inflated bytes of any one entry (a weight file, an engine). */
  readonly entryBytes: number
  /** Inflated bytes of all entries together. */
  readonly totalBytes: number
  /** Entries in one archive. */
  readonly entries: number
  /** Inflated bytes of one JSON entry (`module.json`, `model.json`, a payload config, a version record). */
  readonly jsonBytes: number
}

/**
 * The defaults: 64 GiB per entry and in total, a million entries, 512 MiB per JSON entry (a 100,000-node
 * program's `model.json` is about 60 MiB).
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Limits = {
  entryBytes: 64 * 2 ** 30,
  totalBytes: 64 * 2 ** 30,
  entries: 1_000_000,
  jsonBytes: 512 * 2 ** 20
}

/**
 * The limits in force: {@link defaults} unless a program provides its own.
 *
 * @since 0.1.0
 * @category services
 */
export const Limits = Context.Reference<Limits>("trtx/archive/Limits", { defaultValue: () => defaults })

/**
 * The size up to which an archive file is read whole, in one read, and then read from memory (16 MiB by
 * default): the dozens of reads of a directory and its entries' headers would otherwise each wait for the
 * thread pool, which is most of the time a small archive takes to open. A larger file is read entry by entry,
 * each stored entry straight into its own buffer. `TRTX_ZIP_READ_WHOLE_BYTES` in the environment sets it (the
 * test suite sets 0, so that its archive files go through the file reader; archives given as bytes go through
 * the other). The limits hold either way.
 *
 * @since 0.1.0
 * @category services
 */
export const ReadWholeBytes = Context.Reference<number>("trtx/archive/ReadWholeBytes", {
  defaultValue: () => {
    const set = Number(globalThis.process?.env?.["TRTX_ZIP_READ_WHOLE_BYTES"] ?? Number.NaN)
    return Number.isSafeInteger(set) && set >= 0 ? set : 16 * 1024 * 1024
  }
})
