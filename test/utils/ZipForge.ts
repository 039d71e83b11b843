/**
 * A zip writer for hostile archives: it writes exactly what it is told, however wrong. Each central
 * directory record may differ from its local header (name, method, flags), several records may point at one
 * local header, and the end-of-central-directory record's fields may be forged. Deflate bombs are built
 * cheaply: a deflated chunk of one repeated byte, flushed to a byte boundary, repeated, so that a gigabyte
 * of content costs a megabyte and no gigabyte is ever held.
 */
import { constants, crc32, deflateRawSync } from "node:zlib"

// ===== Entries =====

/** One entry: its content, or a precomputed payload for bombs. */
export interface ForgeEntry {
  readonly name: string
  /** The content; compressed here when `method` is 8. Ignored when `payload` is given. */
  readonly data?: Uint8Array
  readonly method?: number
  /** The bytes to store as the entry's data, with the content's `size` and `crc`. */
  readonly payload?: { readonly bytes: Uint8Array; readonly size: number; readonly crc: number }
  /** General-purpose flags of the central record (the local header's too, unless overridden). */
  readonly flags?: number
  /** What the local header says where it should disagree with the central record. */
  readonly local?: { readonly name?: string; readonly method?: number; readonly flags?: number }
  /** Share the local header (and data) of an earlier entry, by index: many names → one entry. */
  readonly sameAs?: number
}

/** Forged fields of the end-of-central-directory record. */
export interface Eocd {
  readonly count?: number
  readonly cdSize?: number
  readonly cdOffset?: number
}

const utf8 = (s: string) => new TextEncoder().encode(s)

/** The bytes of a zip of `entries`, as told. */
export const forge = (entries: ReadonlyArray<ForgeEntry>, eocd: Eocd = {}): Uint8Array => {
  const parts: Array<Uint8Array> = []
  const central: Array<Uint8Array> = []
  const placed: Array<{ offset: number; size: number; packed: number; crc: number; method: number }> = []
  let offset = 0
  for (const e of entries) {
    const method = e.method ?? 0
    const flags = (e.flags ?? 0) | 0x0800
    let where: (typeof placed)[number]
    if (e.sameAs !== undefined) {
      where = placed[e.sameAs]!
    } else {
      const data = e.data ?? new Uint8Array(0)
      const stored = e.payload?.bytes ?? (method === 8 ? new Uint8Array(deflateRawSync(data)) : data)
      const size = e.payload?.size ?? data.length
      const crc = e.payload?.crc ?? crc32(data)
      const localName = utf8(e.local?.name ?? e.name)
      const local = new Uint8Array(30 + localName.length)
      const lv = new DataView(local.buffer)
      lv.setUint32(0, 0x04034b50, true)
      lv.setUint16(4, 20, true)
      lv.setUint16(6, (e.local?.flags ?? e.flags ?? 0) | 0x0800, true)
      lv.setUint16(8, e.local?.method ?? method, true)
      lv.setUint16(12, 0x21, true)
      lv.setUint32(14, crc, true)
      lv.setUint32(18, stored.length, true)
      lv.setUint32(22, size, true)
      lv.setUint16(26, localName.length, true)
      local.set(localName, 30)
      where = { offset, size, packed: stored.length, crc, method }
      parts.push(local, stored)
      offset += local.length + stored.length
    }
    placed.push(where)
    const name = utf8(e.name)
    const cd = new Uint8Array(46 + name.length)
    const cv = new DataView(cd.buffer)
    cv.setUint32(0, 0x02014b50, true)
    cv.setUint16(4, 0x031e, true)
    cv.setUint16(6, 20, true)
    cv.setUint16(8, flags, true)
    cv.setUint16(10, e.sameAs === undefined ? method : where.method, true)
    cv.setUint16(14, 0x21, true)
    cv.setUint32(16, where.crc, true)
    cv.setUint32(20, where.packed, true)
    cv.setUint32(24, where.size, true)
    cv.setUint16(28, name.length, true)
    cv.setUint32(38, 0o100644 << 16, true)
    cv.setUint32(42, where.offset, true)
    cd.set(name, 46)
    central.push(cd)
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0)
  const end = new Uint8Array(22)
  const ev = new DataView(end.buffer)
  ev.setUint32(0, 0x06054b50, true)
  ev.setUint16(8, eocd.count ?? entries.length, true)
  ev.setUint16(10, eocd.count ?? entries.length, true)
  ev.setUint32(12, eocd.cdSize ?? cdSize, true)
  ev.setUint32(16, eocd.cdOffset ?? offset, true)
  const all = [...parts, ...central, end]
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0))
  all.reduce((at, c) => (out.set(c, at), at + c.length), 0)
  return out
}

// ===== Bombs =====

const CHUNK = 16 * 2 ** 20
const SMALL = 64 * 2 ** 10
const flushed = new Map<string, Uint8Array>()

// The deflate of `data`, flushed to a byte boundary and not final, so that copies can follow each other.
const syncFlushed = (data: Uint8Array): Uint8Array => new Uint8Array(deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH }))

const chunkOf = (fill: number, size: number): Uint8Array => {
  const key = `${fill}/${size}`
  let c = flushed.get(key)
  if (c === undefined) flushed.set(key, c = syncFlushed(new Uint8Array(size).fill(fill)))
  return c
}

const crcs = new Map<string, number>()

/**
 * A deflate payload whose content is `prefix`, then `size - prefix - suffix` copies of `fill`, then
 * `suffix`: a JSON bomb when the fill is a space (`[` + spaces + `0]` is valid JSON). Costs about
 * `size / 1000` bytes; the CRC is computed once per content, in 16 MiB steps, never holding the content.
 */
export const bomb = (size: number, options?: { readonly fill?: number; readonly prefix?: string; readonly suffix?: string }) => {
  const fill = options?.fill ?? 0x20
  const prefix = utf8(options?.prefix ?? "")
  const suffix = utf8(options?.suffix ?? "")
  const body = size - prefix.length - suffix.length
  if (body < 0) throw new RangeError("a bomb smaller than its prefix and suffix")
  // Whole 16 MiB chunks, whole 64 KiB chunks, then a tail: each size deflated once and cached.
  const whole = Math.floor(body / CHUNK)
  const small = Math.floor((body - whole * CHUNK) / SMALL)
  const tail = body - whole * CHUNK - small * SMALL
  const parts: Array<Uint8Array> = [syncFlushed(prefix)]
  for (let i = 0; i < whole; i++) parts.push(chunkOf(fill, CHUNK))
  for (let i = 0; i < small; i++) parts.push(chunkOf(fill, SMALL))
  if (tail > 0) parts.push(syncFlushed(new Uint8Array(tail).fill(fill)))
  parts.push(new Uint8Array(deflateRawSync(suffix))) // the final block
  const key = `${fill}/${size}/${options?.prefix ?? ""}/${options?.suffix ?? ""}`
  let crc = crcs.get(key)
  if (crc === undefined) {
    crc = crc32(prefix)
    const full = new Uint8Array(Math.min(CHUNK, Math.max(body, 0))).fill(fill)
    for (let i = 0; i < whole; i++) crc = crc32(full, crc)
    if (body - whole * CHUNK > 0) crc = crc32(full.subarray(0, body - whole * CHUNK), crc)
    crc = crc32(suffix, crc)
    crcs.set(key, crc)
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0)
  return { bytes, size, crc }
}
