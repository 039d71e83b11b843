/**
 * The `.pt2` archive, read and written as torch 2.11's `torch.export.load` and `torch.export.save` do:
 * `Reader.ts` and `Writer.ts` under one name, the public face of the format (as `Tgm.ts` is for `.tgm`).
 *
 * @since 0.1.0
 */
export { read, readBytes, readFile } from "./Reader.ts"
export type { Pt2 } from "./Reader.ts"
export { toBytes, writeFile } from "./Writer.ts"
export type { Options } from "./Writer.ts"
