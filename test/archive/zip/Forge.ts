/**
 * Zip archives built byte by byte, for the shapes no writer produces: central-directory records that
 * disagree with their local headers, several records pointing at one local header, end records that lie
 * about the directory, and deflate bombs made in milliseconds without ever holding the inflated bytes.
 */
import { crc32, constants, deflateRawSync } from "node:zlib"

// ===== Entries =====

/** One local file header and its data, as written; `packed` is the data as stored (deflated if method 8). */
export interface Local {
  readonly name: string
  readonly method: number
  readonly flags: number
  readonly crc: number
  readonly size: number
  readonly packed: Uint8Array
}

/** One central-directory record: what it declares, and which local header (by index) it points at. */
export interface Central {
  readonly name: string
  readonly method: number
  readonly flags: number
  readonly crc: number
  readonly size: number
  readonly packedSize: number
  readonly local: number
}

const text = (s: string) => new TextEncoder().encode(s)

/** A stored entry. */
export const stored = (name: string, data: Uint8Array | string): Local => {
  const bytes = typeof data === "string" ? text(data) : data
  return { name, method: 0, flags: 0x800, crc: crc32(bytes), size: bytes.length, packed: bytes }
}

/** A deflated entry. */
export const deflated = (name: string, data: Uint8Array | string): Local => {
  const bytes = typeof data === "string" ? text(data) : data
  return { name, method: 8, flags: 0x800, crc: crc32(bytes), size: bytes.length, packed: deflateRawSync(bytes) }
}

const MiB = 2 ** 20

/**
 * A deflated entry of `mib` MiB of spaces, built without holding them: one MiB deflated with a full flush
 * (byte-aligned, history reset, not final) is a block sequence that can be repeated as it is; an empty
 * final block ends the stream. 1 GiB comes to about 1 MB, deflate's ratio for a run.
 */
export const spaces = (name: string, mib: number): Local => {
  const chunk = new Uint8Array(MiB).fill(0x20)
  const block = deflateRawSync(chunk, { finishFlush: constants.Z_FULL_FLUSH })
  const end = deflateRawSync(new Uint8Array(0))
  const packed = new Uint8Array(block.length * mib + end.length)
  let crc = 0
  for (let i = 0; i < mib; i++) {
    packed.set(block, i * block.length)
    crc = crc32(chunk, crc)
  }
  packed.set(end, block.length * mib)
  return { name, method: 8, flags: 0x800, crc, size: mib * MiB, packed }
}

/** The central-directory record that matches a local header exactly. */
export const centralOf = (local: Local, index: number): Central => ({
  name: local.name,
  method: local.method,
  flags: local.flags,
  crc: local.crc,
  size: local.size,
  packedSize: local.packed.length,
  local: index
})

// ===== Archives =====

/** Overrides of the end-of-central-directory record. */
export interface End {
  readonly directorySize?: number
  readonly directoryOffset?: number
}

/**
 * The archive: every local header and its data in order, the central directory (by default one record per
 * local header, matching it), then the end record.
 */
export const assemble = (
  locals: ReadonlyArray<Local>,
  centrals: ReadonlyArray<Central> = locals.map(centralOf),
  end: End = {}
): Uint8Array => {
  const names = locals.map((l) => text(l.name))
  const centralNames = centrals.map((c) => text(c.name))
  const offsets: Array<number> = []
  let size = 0
  locals.forEach((l, i) => {
    offsets.push(size)
    size += 30 + names[i]!.length + l.packed.length
  })
  const directoryOffset = size
  const directorySize = centrals.reduce((n, _, i) => n + 46 + centralNames[i]!.length, 0)
  const out = new Uint8Array(size + directorySize + 22)
  const v = new DataView(out.buffer)
  locals.forEach((l, i) => {
    const p = offsets[i]!
    v.setUint32(p, 0x04034b50, true)
    v.setUint16(p + 4, 20, true)
    v.setUint16(p + 6, l.flags, true)
    v.setUint16(p + 8, l.method, true)
    v.setUint16(p + 12, 0x21, true) // 1980-01-01
    v.setUint32(p + 14, l.crc, true)
    v.setUint32(p + 18, l.packed.length, true)
    v.setUint32(p + 22, l.size, true)
    v.setUint16(p + 26, names[i]!.length, true)
    out.set(names[i]!, p + 30)
    out.set(l.packed, p + 30 + names[i]!.length)
  })
  let p = directoryOffset
  centrals.forEach((c, i) => {
    v.setUint32(p, 0x02014b50, true)
    v.setUint16(p + 4, 0x0314, true)
    v.setUint16(p + 6, 20, true)
    v.setUint16(p + 8, c.flags, true)
    v.setUint16(p + 10, c.method, true)
    v.setUint16(p + 14, 0x21, true)
    v.setUint32(p + 16, c.crc, true)
    v.setUint32(p + 20, c.packedSize, true)
    v.setUint32(p + 24, c.size, true)
    v.setUint16(p + 28, centralNames[i]!.length, true)
    v.setUint32(p + 38, 0o100644 << 16, true)
    v.setUint32(p + 42, offsets[c.local]!, true)
    out.set(centralNames[i]!, p + 46)
    p += 46 + centralNames[i]!.length
  })
  v.setUint32(p, 0x06054b50, true)
  v.setUint16(p + 8, centrals.length, true)
  v.setUint16(p + 10, centrals.length, true)
  v.setUint32(p + 12, end.directorySize ?? directorySize, true)
  v.setUint32(p + 16, end.directoryOffset ?? directoryOffset, true)
  return out
}

// ===== Bombs =====

/** A `.tgm` whose `module.json` is `mib` MiB of spaces (about 1 MB per GiB). */
export const tgmBomb = (bomb: Local): Uint8Array =>
  assemble([
    stored("format.json", JSON.stringify({ format: "torch-tensorrt-compiled-module", version: 1 })),
    { ...bomb, name: "module.json" }
  ])

/** A `.pt2` whose `models/model.json` is the bomb, after version records that pass. */
export const pt2Bomb = (bomb: Local): Uint8Array =>
  assemble([
    stored("bomb/.data/version", "1"),
    stored("bomb/archive_format", "pt2"),
    stored("bomb/archive_version", "0"),
    { ...bomb, name: "bomb/models/model.json" }
  ])

/** One local entry of the bomb and `names` central records, all pointing at it. */
export const aliases = (bomb: Local, names: ReadonlyArray<string>): Uint8Array =>
  assemble([bomb], names.map((name) => ({ ...centralOf(bomb, 0), name })))
