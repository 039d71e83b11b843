/**
 * `trtx/archive`: the `.tgm` and `.pt2` archives, their one error class, the bounds a read is held to and the
 * progress of reads and writes.
 *
 * @since 0.1.0
 */
export * as ArchiveError from "./ArchiveError.ts"
export * as Limits from "./Limits.ts"
export * as Progress from "./zip/Progress.ts"
export * as Pt2 from "./pt2/Pt2.ts"
export * as Tgm from "./tgm/Tgm.ts"
