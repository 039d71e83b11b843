/**
 * Byte progress of archive reads and writes. The library reports it and never prints it: the CLI shows it
 * on a terminal (`trtx export` writing a 1 GiB program), and a program of a user's can show it its own way
 * or ignore it. By default every event is ignored.
 *
 * @since 0.1.0
 */
import { Context } from "effect"

// ===== Models =====

/**
 * How far an archive's read or write has come: `bytes` of entry data read, or of archive bytes written, out
 * of `totalBytes`, all entries' data. A write's archive bytes only estimate its data (headers add to them,
 * deflate takes from them), so they are capped at the total, and a finished write reports the total.
 * Events come per chunk, as often as every few kilobytes: a listener throttles its own rendering.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  readonly archive: string
  readonly direction: "read" | "write"
  readonly bytes: number
  readonly totalBytes: number
}

/**
 * The listener archive reads and writes report to (a plain function: it is called from I/O callbacks).
 *
 * @since 0.1.0
 * @category services
 */
export const Progress = Context.Reference<(event: Event) => void>("trtx/archive/Progress", {
  defaultValue: () => ignore
})

const ignore = (_: Event): void => {}
