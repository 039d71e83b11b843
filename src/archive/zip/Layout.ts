/**
 * The records of a zip as trtx writes them (APPNOTE 6.3): local headers, data descriptors, central directory
 * records and the end records, zip64 where a size or an offset needs it. Pure functions from an entry's
 * facts to bytes; `Zip.ts` streams them.
 *
 * The layout is the one yazl 3 writes with a fixed DOS time and mode (`test/archive/zip/Layout.test.ts` holds
 * the bytes equal to yazl's), so that archives keep their bytes whichever of the two wrote them: an entry
 * given as one buffer of at most
 * {@link knownLimit} bytes has its CRC-32 and sizes in its local header; any other entry (several chunks, or
 * one larger buffer) sets general-purpose bit 3 and puts them in a data descriptor after its data. Names are
 * flagged UTF-8 (bit 11). The central directory carries no timestamp extra field, so the bytes do not depend
 * on the time zone.
 *
 * @since 0.1.0
 */

/** Entries of one buffer up to this size carry their CRC-32 and sizes in the local header. */
export const knownLimit = 0x3fffffff

const LOCAL_HEADER = 0x04034b50
const DATA_DESCRIPTOR = 0x08074b50
const CENTRAL_RECORD = 0x02014b50
const ZIP64_END = 0x06064b50
const ZIP64_LOCATOR = 0x07064b50
const END = 0x06054b50

const VERSION_UTF8 = 20
const VERSION_ZIP64 = 45
// Unix (3), spec version 6.3.
const VERSION_MADE_BY = (3 << 8) | 63
const UTF8_NAME = 1 << 11
const SIZES_AFTER_DATA = 1 << 3
const STORED = 0
const DEFLATED = 8

// 1980-01-01 00:00, the earliest DOS date: day 1, month 1, year 0 (from 1980); time 0.
const DOS_DATE = 1 | (1 << 5)
const DOS_TIME = 0
// A regular file, rw-r--r--, in the high half as Unix zip tools read it.
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0

const ZIP64_BOUND = 0xfffffffe

/**
 * What the records of one entry say: its name, method, CRC-32, sizes, where its local header starts, and
 * whether its CRC and sizes follow its data (bit 3).
 *
 * @since 0.1.0
 * @category models
 */
export interface EntryFacts {
  readonly name: Uint8Array
  readonly deflated: boolean
  readonly crc32: number
  readonly compressedSize: number
  readonly uncompressedSize: number
  readonly offset: number
  readonly sizesAfterData: boolean
}

const zip64 = (e: EntryFacts): boolean =>
  e.uncompressedSize > ZIP64_BOUND || e.compressedSize > ZIP64_BOUND || e.offset > ZIP64_BOUND

const u64 = (view: DataView, at: number, n: number) => {
  view.setUint32(at, n % 0x100000000, true)
  view.setUint32(at + 4, Math.floor(n / 0x100000000), true)
}

const flags = (e: EntryFacts): number => UTF8_NAME | (e.sizesAfterData ? SIZES_AFTER_DATA : 0)

/**
 * The local header: 30 bytes and the name. An entry whose sizes follow its data has zeros in their place.
 *
 * @since 0.1.0
 * @category encoding
 */
export const localHeader = (e: EntryFacts): Uint8Array => {
  const out = new Uint8Array(30 + e.name.length)
  const v = new DataView(out.buffer)
  v.setUint32(0, LOCAL_HEADER, true)
  v.setUint16(4, VERSION_UTF8, true)
  v.setUint16(6, flags(e), true)
  v.setUint16(8, e.deflated ? DEFLATED : STORED, true)
  v.setUint16(10, DOS_TIME, true)
  v.setUint16(12, DOS_DATE, true)
  if (!e.sizesAfterData) {
    v.setUint32(14, e.crc32, true)
    v.setUint32(18, e.compressedSize, true)
    v.setUint32(22, e.uncompressedSize, true)
  }
  v.setUint16(26, e.name.length, true)
  out.set(e.name, 30)
  return out
}

/**
 * The data descriptor after an entry's data, when its sizes follow it (16 bytes, or 24 with 8-byte sizes
 * where the entry needs zip64); otherwise nothing.
 *
 * @since 0.1.0
 * @category encoding
 */
export const dataDescriptor = (e: EntryFacts): Uint8Array => {
  if (!e.sizesAfterData) return new Uint8Array(0)
  const wide = zip64(e)
  const out = new Uint8Array(wide ? 24 : 16)
  const v = new DataView(out.buffer)
  v.setUint32(0, DATA_DESCRIPTOR, true)
  v.setUint32(4, e.crc32, true)
  if (wide) {
    u64(v, 8, e.compressedSize)
    u64(v, 16, e.uncompressedSize)
  } else {
    v.setUint32(8, e.compressedSize, true)
    v.setUint32(12, e.uncompressedSize, true)
  }
  return out
}

/**
 * The central directory record: 46 bytes, the name, and a zip64 extra field (28 bytes) where a size or the
 * offset passes 32 bits.
 *
 * @since 0.1.0
 * @category encoding
 */
export const centralRecord = (e: EntryFacts): Uint8Array => {
  const wide = zip64(e)
  const out = new Uint8Array(46 + e.name.length + (wide ? 28 : 0))
  const v = new DataView(out.buffer)
  v.setUint32(0, CENTRAL_RECORD, true)
  v.setUint16(4, VERSION_MADE_BY, true)
  v.setUint16(6, wide ? VERSION_ZIP64 : VERSION_UTF8, true)
  v.setUint16(8, flags(e), true)
  v.setUint16(10, e.deflated ? DEFLATED : STORED, true)
  v.setUint16(12, DOS_TIME, true)
  v.setUint16(14, DOS_DATE, true)
  v.setUint32(16, e.crc32, true)
  v.setUint32(20, wide ? 0xffffffff : e.compressedSize, true)
  v.setUint32(24, wide ? 0xffffffff : e.uncompressedSize, true)
  v.setUint16(28, e.name.length, true)
  v.setUint16(30, wide ? 28 : 0, true)
  // Comment length, disk number and internal attributes stay 0.
  v.setUint32(38, EXTERNAL_ATTRIBUTES, true)
  v.setUint32(42, wide ? 0xffffffff : e.offset, true)
  out.set(e.name, 46)
  if (wide) {
    const at = 46 + e.name.length
    v.setUint16(at, 0x0001, true)
    v.setUint16(at + 2, 24, true)
    u64(v, at + 4, e.uncompressedSize)
    u64(v, at + 12, e.compressedSize)
    u64(v, at + 20, e.offset)
  }
  return out
}

/**
 * The end of the archive: the end of central directory record (22 bytes, no comment), preceded by the zip64
 * end record and locator (76 bytes) where the entry count, the directory's size or its offset passes what
 * the plain record holds.
 *
 * @since 0.1.0
 * @category encoding
 */
export const endRecords = (entries: number, directoryOffset: number, directorySize: number): Uint8Array => {
  const manyEntries = entries >= 0xffff
  const bigSize = directorySize >= 0xffffffff
  const farOffset = directoryOffset >= 0xffffffff
  const wide = manyEntries || bigSize || farOffset
  const out = new Uint8Array((wide ? 76 : 0) + 22)
  const v = new DataView(out.buffer)
  if (wide) {
    v.setUint32(0, ZIP64_END, true)
    u64(v, 4, 56 - 12)
    v.setUint16(12, VERSION_MADE_BY, true)
    v.setUint16(14, VERSION_ZIP64, true)
    // Disk numbers (16, 20) stay 0.
    u64(v, 24, entries)
    u64(v, 32, entries)
    u64(v, 40, directorySize)
    u64(v, 48, directoryOffset)
    v.setUint32(56, ZIP64_LOCATOR, true)
    // The zip64 end record starts where the directory ends.
    u64(v, 64, directoryOffset + directorySize)
    v.setUint32(72, 1, true)
  }
  const at = wide ? 76 : 0
  v.setUint32(at, END, true)
  v.setUint16(at + 8, manyEntries ? 0xffff : entries, true)
  v.setUint16(at + 10, manyEntries ? 0xffff : entries, true)
  v.setUint32(at + 12, bigSize ? 0xffffffff : directorySize, true)
  v.setUint32(at + 16, farOffset ? 0xffffffff : directoryOffset, true)
  return out
}
