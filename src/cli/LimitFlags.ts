/**
 * The `--max-*` options every reading command takes: each raises (or lowers) one of the archive
 * {@link Limits} for this run. A size is a whole number of bytes, or one with a binary unit (`512MiB`,
 * `2GiB`, `1TiB`).
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Flag } from "effect/cli"
import * as Limits from "../archive/Limits.ts"

const UNITS: Readonly<Record<string, number>> = { "": 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 }

/**
 * Bytes of a size written `123`, `64MiB` or `2GiB`; undefined for anything else (a fraction, a negative
 * number, an unknown unit, more than 2^53 bytes).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseSize = (text: string): number | undefined => {
  const m = /^(\d+)\s*([KMGT]iB|B)?$/.exec(text.trim())
  if (m === null) return undefined
  const bytes = Number(m[1]) * UNITS[m[2] ?? ""]!
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined
}

const size = (name: string, what: string, fallback: number) =>
  Flag.String(name).pipe(
    Flag.filterMap(
      (text) => Option.fromUndefinedOr(parseSize(text)),
      (text) => `--${name}: ${JSON.stringify(text)} is not a size (bytes, or a number with KiB, MiB, GiB or TiB)`
    ),
    Flag.optional,
    Flag.withDescription(`${what} (default ${fallback} bytes)`)
  )

/**
 * The flags, to spread into a command's configuration.
 *
 * @since 0.1.0
 * @category models
 */
export const flags = {
  maxEntryBytes: size("max-entry-bytes", "The most inflated bytes of one archive entry", Limits.defaults.entryBytes),
  maxTotalBytes: size("max-total-bytes", "The most inflated bytes of all entries of an archive", Limits.defaults.totalBytes),
  maxEntries: Flag.Int("max-entries").pipe(
    Flag.filter((n) => n > 0, (n) => `--max-entries: ${n} is not a positive count`),
    Flag.optional,
    Flag.withDescription(`The most entries in one archive (default ${Limits.defaults.entries})`)
  ),
  maxJsonBytes: size("max-json-bytes", "The most bytes of one JSON entry of an archive", Limits.defaults.jsonBytes)
}

/**
 * The parsed flags.
 *
 * @since 0.1.0
 * @category models
 */
export interface Given {
  readonly maxEntryBytes: Option.Option<number>
  readonly maxTotalBytes: Option.Option<number>
  readonly maxEntries: Option.Option<number>
  readonly maxJsonBytes: Option.Option<number>
}

/**
 * Runs an effect under the limits the flags give, the defaults for the others.
 *
 * @since 0.1.0
 * @category combinators
 */
export const provide = <A, E, R>(given: Given, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const d = Limits.defaults
  return Effect.provideService(effect, Limits.Limits, {
    entryBytes: Option.getOrElse(given.maxEntryBytes, () => d.entryBytes),
    totalBytes: Option.getOrElse(given.maxTotalBytes, () => d.totalBytes),
    entries: Option.getOrElse(given.maxEntries, () => d.entries),
    jsonBytes: Option.getOrElse(given.maxJsonBytes, () => d.jsonBytes)
  })
}
