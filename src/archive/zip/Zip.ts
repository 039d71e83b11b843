/**
 * Reading zips, the container under every archive trtx reads: entries in, nothing about what they mean. Here
 * foreign errors (yauzl, `fs`) become {@link ArchiveError}s on the read side; `ZipWriter.ts` writes.
 *
 * Reading uses `yauzl` because it reads the central directory with random access (an entry's data is read
 * only when asked for), streams each entry, understands zip64, and checks names and sizes itself.
 *
 * Every declared size is checked at {@link open}, before a single byte of data is read, because
 * `ZipReader.read` allocates an entry's declared size up front: a stored entry must have equal sizes, a
 * deflated entry cannot inflate by more than deflate's maximum ratio (1032:1), the {@link Limits} in force
 * bound each entry, the total and the entry count, and an entry's data must lie inside the file. The layout
 * is checked too, as Python's `zipfile` checks it: the end record's directory size is the size of the
 * records read, and no two records share a local header or overlap each other's data (several names for one
 * huge entry would otherwise inflate it once per name). A forged central directory therefore fails at open
 * with `EntryTooLarge` or `CorruptZip` instead of asking for gigabytes. At read, the entry's local header must
 * agree with its record (signature, name, method, encryption), a JSON entry is held to `Limits.jsonBytes`
 * before anything is inflated, and data that disagrees with its declared size or CRC fails with `CorruptZip`.
 *
 * It plays the part of PyTorch's `PyTorchStreamReader` / `PyTorchStreamWriter`
 * (`caffe2/serialize/inline_container.cc`), without their 64-byte alignment of entry data.
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import * as fs from "node:fs"
import { Readable } from "node:stream"
import { inflateRaw } from "node:zlib"
import * as yauzl from "yauzl"
import { type ArchiveError, type ArchiveFault, at, type Location } from "../ArchiveError.ts"
import { Limits, ReadWholeBytes } from "../Limits.ts"
import * as Crc32 from "./Crc32.ts"
import * as EntryName from "./EntryName.ts"
import { Progress } from "./Progress.ts"

// ===== Models =====

/**
 * One file entry of an archive, as its central directory declares it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZipEntry {
  readonly name: string
  readonly compressedSize: number
  readonly uncompressedSize: number
  readonly stored: boolean
}

/**
 * An open archive. Valid until the scope that {@link open} ran in closes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZipReader {
  /** The label used in errors: the file path, or the label of a `Bytes` source. */
  readonly archive: string
  /** Every file entry in central-directory order; directories (names ending in "/") are left out. */
  readonly entries: ReadonlyMap<string, ZipEntry>
  /**
   * The whole content of an entry, CRC-checked; `MissingEntry` (with `entry` set) if there is none of that
   * name. A stored entry of a `Bytes` source is a view of the source's bytes (no copy): they must not change
   * while it is used. Any other entry is read into a buffer of its own.
   */
  readonly read: (name: string) => Effect.Effect<Uint8Array, ArchiveError>
  /**
   * An entry that is read whole as JSON or as short text (a version record, an `extra/` file): as
   * {@link ZipReader.read}, but first held to `Limits.jsonBytes`, so that a small archive whose JSON entry
   * declares gigabytes fails with `EntryTooLarge` before a byte of it is inflated.
   */
  readonly readJson: (name: string) => Effect.Effect<Uint8Array, ArchiveError>
}

/**
 * Where an archive's bytes come from.
 *
 * @since 0.1.0
 * @category models
 */
export type ZipSource =
  | { readonly _tag: "File"; readonly path: string }
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array; readonly label: string }

// ===== Names and foreign errors =====

// yauzl refuses unsafe names with an Error whose message ends in the name; the name is the only locator.
const yauzlNameError = /^(invalid characters in fileName|absolute path|invalid relative path): (.*)$/s

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

// The single mapping from yauzl and fs errors to archive faults on the read side.
const readFault = (location: Location, cause: unknown): ArchiveError => {
  const detail = describe(cause)
  const name = yauzlNameError.exec(detail)
  if (name !== null) return at({ ...location, entry: name[2]! }, "HostileEntryName", detail)
  if (detail.startsWith("compressed/uncompressed size mismatch")) return at(location, "EntryTooLarge", detail)
  // Node's system errors (ENOENT, EISDIR, EACCES...) carry `syscall`: the file could not be read at all.
  if (typeof cause === "object" && cause !== null && "syscall" in cause) return at(location, "ReadFailed", detail)
  return at(location, "CorruptZip", detail)
}

// ===== Reading =====

const u32 = (b: Uint8Array, offset: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(offset, true)
const u64 = (b: Uint8Array, offset: number) => u32(b, offset) + u32(b, offset + 4) * 2 ** 32

// How far from the file's end the end record can start: its 22 bytes, a comment of up to 0xffff, and room for
// the zip64 locator before it.
const endReach = 20 + 22 + 0xffff

// What the end record (zip64's where there is one) says of the central directory: its offset, its size, and
// where the end record itself starts, which is where the directory must end.
interface End {
  readonly offset: number
  readonly size: number
  readonly zip64: boolean
  readonly recordOffset: number
}

// The end record in `tail`, the file's last bytes (from `tailStart`), found as yauzl finds it: the last
// signature within a comment's reach of the end. A zip64 locator before it sends on to the zip64 end record,
// which the caller reads and gives to `zip64End`. Undefined where there is no signature.
const endIn = (
  tail: Uint8Array,
  tailStart: number
): { readonly _tag: "End"; readonly end: End } | { readonly _tag: "Zip64"; readonly recordOffset: number } | undefined => {
  let i = tail.length - 22
  while (i >= 0 && u32(tail, i) !== 0x06054b50) i--
  if (i < 0) return undefined
  if (i >= 20 && u32(tail, i - 20) === 0x07064b50) return { _tag: "Zip64", recordOffset: u64(tail, i - 20 + 8) }
  return { _tag: "End", end: { offset: u32(tail, i + 16), size: u32(tail, i + 12), zip64: false, recordOffset: tailStart + i } }
}

// The zip64 end record's 56 bytes, read at `recordOffset`.
const zip64End = (record: Uint8Array, recordOffset: number): End =>
  ({ offset: u64(record, 48), size: u64(record, 40), zip64: true, recordOffset })

const yauzlOptions = (): yauzl.Options => ({
  lazyEntries: true,
  autoClose: false,
  // Off: yauzl's own size check fails without naming the entry; `read` counts the bytes itself, per entry.
  validateEntrySizes: false,
  decodeStrings: true,
  strictFileNames: true
})

// yauzl's own fd reader hands header offsets straight to fs.read, which throws (inside a callback, so
// uncatchably) on a forged zip64 offset past 2^53; this one refuses ranges outside the file with an ordinary
// error. All reads, header or stream, go through `readAt` so that closing waits for reads in flight: an fd
// closed under a pending read could be reused by another open before the read runs.
//
// yauzl reads the central directory two reads a record; where the directory was read ahead (`directory`), those
// reads are served from it, so that opening an archive of a thousand entries is not two thousand round trips
// to the thread pool. A run of small entries read ahead (`readAhead`, see `open`) serves their headers and data
// the same way.
class FileReader extends yauzl.RandomAccessReader {
  private readonly fd: number
  private readonly size: number
  private readonly directory: ReadAhead | undefined
  private run: ReadAhead | undefined
  private pending = 0
  private closing: ((error: Error | null) => void) | undefined
  constructor(fd: number, size: number, directory: ReadAhead | undefined) {
    super()
    this.fd = fd
    this.size = size
    this.directory = directory
  }
  private readAt(buffer: Buffer, offset: number, length: number, at: number, cb: (e: Error | null, n: number) => void) {
    if (!(Number.isSafeInteger(at) && at >= 0 && at + length <= this.size)) {
      return setImmediate(() => cb(new Error(`unexpected EOF: ${length} bytes at ${at} of ${this.size}`), 0))
    }
    this.pending++
    fs.read(this.fd, buffer, offset, length, at, (error, n) => {
      if (--this.pending === 0 && this.closing !== undefined) fs.close(this.fd, this.closing)
      cb(error, n)
    })
  }
  // The bytes read ahead that hold a range, if any do.
  private ahead(start: number, end: number): ReadAhead | undefined {
    return within(this.directory, start, end) ? this.directory : within(this.run, start, end) ? this.run : undefined
  }
  holds(start: number, end: number): boolean {
    return this.ahead(start, end) !== undefined
  }
  // Reads a range ahead, for the reads inside it that follow; a range that cannot be read is not kept, and
  // those reads go to the file, which reports what is wrong as it always does.
  readAhead(start: number, end: number, done: () => void): void {
    const bytes = Buffer.allocUnsafe(end - start)
    this.readAt(bytes, 0, bytes.length, start, (e, n) => {
      if (e === null && n === bytes.length) this.run = { start, bytes }
      done()
    })
  }
  override read(buffer: Buffer, offset: number, length: number, position: number, cb: (e: Error | null) => void) {
    const ahead = this.ahead(position, position + length)
    if (ahead !== undefined) {
      buffer.set(ahead.bytes.subarray(position - ahead.start, position - ahead.start + length), offset)
      return void setImmediate(() => cb(null))
    }
    // The range was checked against the size, so a short read means the file shrank under us.
    this.readAt(buffer, offset, length, position, (e, n) => cb(e ?? (n < length ? new Error("short read") : null)))
  }
  override _readStreamForRange(start: number, end: number): Readable {
    let position = start
    const readAt = this.readAt.bind(this)
    return new Readable({
      read() {
        const length = Math.min(end - position, 0x10000)
        if (length <= 0) return void this.push(null)
        const chunk = Buffer.allocUnsafe(length)
        readAt(chunk, 0, length, position, (error, n) => {
          if (error !== null) return void this.destroy(error)
          position += n
          // A file that ends early ends the stream early; yauzl's byte counter turns that into an error.
          this.push(n === 0 ? null : chunk.subarray(0, n))
        })
      }
    })
  }
  override close(cb: (error: Error | null) => void) {
    if (this.pending === 0) fs.close(this.fd, cb)
    else this.closing = cb
  }
}

// Bytes of a file from `start`, read ahead.
interface ReadAhead {
  readonly start: number
  readonly bytes: Buffer
}

const within = (ahead: ReadAhead | undefined, start: number, end: number): boolean =>
  ahead !== undefined && start >= ahead.start && end <= ahead.start + ahead.bytes.length

// The most bytes of central directory read ahead; a larger one is read record by record.
const directoryAheadBytes = 32 * 2 ** 20

// Reads ahead the file's central directory and end records, found as `readEnd` finds them. Anything unexpected
// gives undefined: yauzl then reads the file record by record and reports what is wrong, as without this.
const readDirectory = async (fd: number, size: number): Promise<ReadAhead | undefined> => {
  try {
    const readRange = (start: number, length: number) =>
      new Promise<Buffer | undefined>((resolve) => {
        const bytes = Buffer.allocUnsafe(length)
        fs.read(fd, bytes, 0, length, start, (error, n) => resolve(error === null && n === length ? bytes : undefined))
      })
    const length = Math.min(size, endReach)
    const tailStart = size - length
    const tail = await readRange(tailStart, length)
    const found = tail === undefined ? undefined : endIn(tail, tailStart)
    if (tail === undefined || found === undefined) return undefined
    // A zip64 end record is taken from the tail only: where it lies elsewhere, the directory is not read ahead.
    const at = found._tag === "Zip64" ? found.recordOffset - tailStart : 0
    if (at < 0 || at + 56 > tail.length) return undefined
    const start = (found._tag === "End" ? found.end : zip64End(tail.subarray(at, at + 56), found.recordOffset)).offset
    if (!(Number.isSafeInteger(start) && start <= size && size - start <= directoryAheadBytes)) return undefined
    const bytes = start >= tailStart ? tail.subarray(start - tailStart) : await readRange(start, size - start)
    return bytes === undefined ? undefined : { start, bytes }
  } catch {
    return undefined
  }
}

const openFile = (path: string, done: (error: unknown, zip?: yauzl.ZipFile) => void) =>
  fs.open(path, "r", (error, fd) => {
    if (error !== null) return done(error)
    const fail = (cause: unknown) => fs.close(fd, () => done(cause))
    fs.fstat(fd, (error, { size }) => {
      if (error !== null) return fail(error)
      void readDirectory(fd, size).then((directory) => {
        try {
          yauzl.fromRandomAccessReader(new FileReader(fd, size, directory), size, yauzlOptions(), (e, zip) => {
            if (e !== null) fail(e)
            else done(null, zip)
          })
        } catch (cause) {
          fail(cause)
        }
      })
    })
  })

const openZip = (source: ZipSource, archive: string): Effect.Effect<yauzl.ZipFile, ArchiveError> =>
  Effect.callback((resume) => {
    let cancelled = false
    const done = (error: unknown, zip?: yauzl.ZipFile) => {
      if (zip !== undefined) {
        // A late fs.close failure is emitted as "error"; with no listener it would crash the process.
        zip.on("error", () => {})
        if (cancelled) return zip.close()
      }
      if (cancelled) return
      resume(zip === undefined ? Effect.fail(readFault({ archive }, error)) : Effect.succeed(zip))
    }
    try {
      if (source._tag === "File") openFile(source.path, done)
      else {
        const buffer = Buffer.from(source.bytes.buffer, source.bytes.byteOffset, source.bytes.byteLength)
        yauzl.fromBuffer(buffer, yauzlOptions(), (error, zip) => done(error, error === null ? zip : undefined))
      }
    } catch (cause) {
      done(cause)
    }
    return Effect.sync(() => {
      cancelled = true
    })
  })

// A file of at most `ReadWholeBytes` is read whole and then as bytes. Anything that goes wrong here (no such
// file, not a regular file, a read that fails) is left to the file path, which reports it as it always does.
const inMemory = (source: ZipSource): Effect.Effect<ZipSource> => {
  if (source._tag !== "File") return Effect.succeed(source)
  return Effect.flatMap(ReadWholeBytes, (whole) => whole === 0 ? Effect.succeed(source) : Effect.promise(async () => {
    try {
      const stat = await fs.promises.stat(source.path)
      if (!stat.isFile() || stat.size > whole) return source
      const bytes = await fs.promises.readFile(source.path)
      return { _tag: "Bytes", bytes, label: source.path } as const
    } catch {
      return source
    }
  }))
}

// ===== Limits =====

// Where each limit is raised, named in every error it gives, so that whoever meets one knows what to change.
const flags: { readonly [K in keyof Limits]: string } = {
  entryBytes: "--max-entry-bytes",
  totalBytes: "--max-total-bytes",
  entries: "--max-entries",
  jsonBytes: "--max-json-bytes"
}

const overLimit = (limits: Limits, key: keyof Limits, what: string): string =>
  `${what} exceeds the limit of ${limits[key]} (Limits.${key}: raisable with Limits.${key} in a program or ` +
  `${flags[key]} on the CLI)`

// ===== The central directory =====

// The checks of one central-directory record, in the order a reader of the error would want them.
const entryFault = (
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  limits: Limits,
  total: number
): readonly [ArchiveFault, string] | undefined => {
  const problem = EntryName.problem(entry.fileName)
  if (problem !== undefined) return ["HostileEntryName", problem]
  const { compressedSize: packed, uncompressedSize: size, compressionMethod: method } = entry
  if ((entry.generalPurposeBitFlag & 0x1) !== 0) return ["CorruptZip", "encrypted entries are not supported"]
  if (method !== 0 && method !== 8) return ["CorruptZip", `unsupported compression method ${method}`]
  if (method === 0 && size !== packed) return ["EntryTooLarge", `stored entry declares ${size} != ${packed} bytes`]
  if (method === 8 && size > packed * 1032 + 1024) {
    return ["EntryTooLarge", `${packed} deflated bytes cannot inflate to the declared ${size}`]
  }
  if (size > limits.entryBytes) return ["EntryTooLarge", overLimit(limits, "entryBytes", `an entry of ${size} bytes`)]
  if (total + size > limits.totalBytes) {
    return ["EntryTooLarge", overLimit(limits, "totalBytes", `${total + size} bytes of entries up to this one`)]
  }
  // The local header is at least 30 bytes plus the name; its extra field can only push the data further out.
  const end = entry.relativeOffsetOfLocalHeader + 30 + entry.fileNameRaw.length + packed
  if (end > zip.fileSize) return ["CorruptZip", `entry data would end at ${end}, past the file's ${zip.fileSize}`]
  return undefined
}

// What the central directory holds: the file entries by name, every record (directories too) in directory
// order, and the bytes the records take, which the end record must agree with.
interface Directory {
  readonly files: ReadonlyMap<string, yauzl.Entry>
  readonly records: ReadonlyArray<yauzl.Entry>
  readonly bytes: number
}

// Reads the whole central directory, one record at a time, stopping at the first fault.
const scan = (zip: yauzl.ZipFile, archive: string, limits: Limits) =>
  Effect.callback<Directory, ArchiveError>((resume) => {
    // A central-directory record takes at least 46 bytes, so a forged count fails here without a read.
    if (zip.entryCount * 46 > zip.fileSize) {
      return resume(Effect.fail(at({ archive }, "CorruptZip", `${zip.entryCount} entries cannot fit in the file`)))
    }
    if (zip.entryCount > limits.entries) {
      const detail = overLimit(limits, "entries", `${zip.entryCount} entries`)
      return resume(Effect.fail(at({ archive }, "EntryTooLarge", detail)))
    }
    const files = new Map<string, yauzl.Entry>()
    const records: Array<yauzl.Entry> = []
    let bytes = 0
    const seen = new Set<string>()
    let total = 0
    let settled = false
    const settle = (result: Effect.Effect<Directory, ArchiveError>) => {
      if (settled) return
      settled = true
      zip.removeListener("entry", onEntry).removeListener("end", onEnd).removeListener("error", onError)
      resume(result)
    }
    let index = 0
    const onEntry = (entry: yauzl.Entry) => {
      if (settled) return
      // An entry without a name is located by its place in the central directory.
      const location = { archive, entry: entry.fileName === "" ? `<entry #${index}>` : entry.fileName }
      index++
      const fault = seen.has(entry.fileName)
        ? (["DuplicateEntry", "a second entry of this name"] as const)
        : entryFault(zip, entry, limits, total)
      if (fault !== undefined) return settle(Effect.fail(at(location, fault[0], fault[1])))
      seen.add(entry.fileName)
      total += entry.uncompressedSize
      records.push(entry)
      bytes += 46 + entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength
      if (!entry.fileName.endsWith("/")) files.set(entry.fileName, entry)
      try {
        zip.readEntry()
      } catch (cause) {
        settle(Effect.fail(readFault(location, cause)))
      }
    }
    const onEnd = () => settle(Effect.succeed({ files, records, bytes }))
    const onError = (cause: unknown) => settle(Effect.fail(readFault({ archive }, cause)))
    zip.on("entry", onEntry).on("end", onEnd).on("error", onError)
    try {
      zip.readEntry()
    } catch (cause) {
      onError(cause)
    }
    return Effect.sync(() => {
      settled = true
    })
  })

// ===== The end record and the layout =====

// yauzl keeps the reader it was opened with as `reader` (untyped).
const readerOf = (zip: yauzl.ZipFile): unknown => (zip as unknown as { readonly reader: unknown }).reader

// `length` bytes of the archive at `position`: a view of a `Bytes` source, a read of a file.
const readAt = (zip: yauzl.ZipFile, source: ZipSource, position: number, length: number) =>
  Effect.callback<Uint8Array, unknown>((resume) => {
    const reader = readerOf(zip)
    if (source._tag === "Bytes") {
      const inside = position >= 0 && position + length <= source.bytes.byteLength
      return resume(inside ? Effect.succeed(source.bytes.subarray(position, position + length)) : Effect.fail(new Error("unexpected EOF")))
    }
    if (!(reader instanceof FileReader)) return resume(Effect.fail(new Error("no reader for the file")))
    const buffer = Buffer.alloc(length)
    reader.read(buffer, 0, length, position, (e) => resume(e === null ? Effect.succeed(buffer) : Effect.fail(e)))
  })

// yauzl reads the directory's offset and count but never its size, so the end record yauzl used is read
// again here, found by the same search (the last signature within a comment's reach of the file's end).
const readEnd = (zip: yauzl.ZipFile, source: ZipSource, archive: string) =>
  Effect.gen(function*() {
    const length = Math.min(zip.fileSize, endReach)
    const start = zip.fileSize - length
    const found = endIn(yield* readAt(zip, source, start, length), start)
    if (found === undefined) return yield* Effect.fail(new Error("no end-of-central-directory record"))
    if (found._tag === "End") return found.end
    return zip64End(yield* readAt(zip, source, found.recordOffset, 56), found.recordOffset)
  }).pipe(Effect.mapError((cause) => readFault({ archive }, cause)))

// Python's zipfile reads the directory by the end record's size (a size of 0 is an empty archive to it)
// and takes any gap before the end record as bytes prepended to the archive, while yauzl reads as many
// records as the count says: the two would see different archives unless the size is the records' own.
const endFault = (end: End, directory: Directory): string | undefined => {
  if (!end.zip64 && end.size === 0xffffffff) {
    return "the end record declares a central directory of 0xffffffff bytes, and there is no zip64 record"
  }
  if (end.size !== directory.bytes) {
    const records = directory.records.length
    return `the end record declares a central directory of ${end.size} bytes; its ${records} records take ${directory.bytes}`
  }
  if (end.offset + end.size !== end.recordOffset) {
    return `the central directory ends at ${end.offset + end.size}, not where the end record starts (${end.recordOffset})`
  }
  return undefined
}

// Each record's bound: where its data must end, at the next local header in the file or at the central
// directory. Records that share a local header, or whose data (from the smallest header their record allows)
// reaches the next one, are refused here, before any data is read: Python's zipfile refuses them too
// ("Overlapped entries"), and several names for one deflated entry would inflate it once per name.
const bounds = (directory: Directory, directoryOffset: number, archive: string) =>
  Effect.suspend(() => {
    const sorted = directory.records.slice().sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader)
    const out = new Map<yauzl.Entry, number>()
    for (let i = 0; i < sorted.length; i++) {
      const entry = sorted[i]!
      const next = sorted[i + 1]
      const start = entry.relativeOffsetOfLocalHeader
      if (next !== undefined && next.relativeOffsetOfLocalHeader === start) {
        const detail = `its local header (at ${start}) is also that of ${JSON.stringify(entry.fileName)}`
        return Effect.fail(at({ archive, entry: next.fileName }, "CorruptZip", detail))
      }
      const bound = next === undefined ? directoryOffset : next.relativeOffsetOfLocalHeader
      const end = start + 30 + entry.fileNameRaw.length + entry.compressedSize
      if (end > bound) {
        const what = next === undefined ? "the central directory" : `the local header of ${JSON.stringify(next.fileName)}`
        return Effect.fail(at({ archive, entry: entry.fileName }, "CorruptZip", `its data reaches ${end}, past ${what} at ${bound}`))
      }
      out.set(entry, bound)
    }
    return Effect.succeed(out)
  })

// ===== Entries =====

// Small entries side by side in a file (the weights of a program: hundreds of tensors of a few hundred bytes)
// are read in runs: reading one reads the run of small entries it starts, up to `runBytes` in all, and their
// headers and data are served from it, where each entry took two round trips to the thread pool.
const smallEntryBytes = 64 * 2 ** 10
const runBytes = 2 ** 20

// The run of small entries that starts at an entry, header to bound, or undefined where the entry is not small.
// `ends` lists the entries in file order (`bounds`); each run is found once, when its first entry is read.
const smallRuns = (ends: ReadonlyMap<yauzl.Entry, number>) => {
  const order = [...ends.keys()]
  const index = new Map(order.map((e, i) => [e, i]))
  return (entry: yauzl.Entry): { readonly start: number; readonly end: number } | undefined => {
    const start = entry.relativeOffsetOfLocalHeader
    let end = start
    for (let i = index.get(entry)!; i < order.length; i++) {
      const bound = ends.get(order[i]!)!
      if (bound - order[i]!.relativeOffsetOfLocalHeader > smallEntryBytes || bound - start > runBytes) break
      end = bound
    }
    return end === start ? undefined : { start, end }
  }
}

// An entry's local header, checked against its central-directory record as Python's zipfile checks it
// (signature, name bytes, compression method, encryption bit): yauzl trusts the record alone, so a header
// that disagrees would be read as something else by other readers. Gives where the data starts, which must
// leave the data inside the entry's bound (a longer local name or extra field pushes it out).
const dataStart = (zip: yauzl.ZipFile, entry: yauzl.Entry, bound: number, location: Location) =>
  Effect.callback<number, ArchiveError>((resume) => {
    const fail = (detail: string) => resume(Effect.fail(at(location, "CorruptZip", detail)))
    try {
      zip.readLocalFileHeader(entry, {}, (error, header) => {
        if (error !== null) return resume(Effect.fail(readFault(location, error)))
        if (Buffer.compare(header.fileName, entry.fileNameRaw) !== 0) {
          return fail(`its local header's name ${JSON.stringify(header.fileName.toString("utf8"))} differs from its record's`)
        }
        if (header.compressionMethod !== entry.compressionMethod) {
          return fail(`its local header's compression method ${header.compressionMethod} differs from its record's ${entry.compressionMethod}`)
        }
        const encrypted = header.generalPurposeBitFlag & 0x1
        if (encrypted !== (entry.generalPurposeBitFlag & 0x1)) {
          return fail(`its local header's encryption bit is ${encrypted}, its record's is not`)
        }
        const end = header.fileDataStart + entry.compressedSize
        if (end > bound) return fail(`its data would end at ${end}, past the next local header or the central directory at ${bound}`)
        resume(Effect.succeed(header.fileDataStart))
      })
    } catch (cause) {
      resume(Effect.fail(readFault(location, cause)))
    }
  })

// Reads per call of a stored entry read straight from its file.
const storedChunk = 16 * 2 ** 20

// A stored entry of a file, read by the kernel straight into one buffer of its size (no stream, no chunk
// buffers, one copy), 16 MiB per read; each chunk's CRC is computed while the next one is read.
const readStored = (reader: FileReader, entry: yauzl.Entry, start: number, location: Location, onBytes: (n: number) => void) =>
  Effect.callback<Uint8Array, ArchiveError>((resume) => {
    let cancelled = false
    const fail = (fault: ArchiveFault, detail: string) => resume(Effect.fail(at(location, fault, detail)))
    const size = entry.uncompressedSize
    let target: Buffer
    try {
      target = Buffer.allocUnsafeSlow(size)
    } catch (cause) {
      return fail("EntryTooLarge", `cannot allocate ${size} bytes: ${describe(cause)}`)
    }
    let crc = 0
    const step = (offset: number, previous: number) => {
      if (offset === size) {
        crc = Crc32.update(crc, target.subarray(previous, offset))
        if (crc !== entry.crc32) return fail("CorruptZip", "CRC-32 mismatch")
        return resume(Effect.succeed(new Uint8Array(target.buffer, target.byteOffset, size)))
      }
      const length = Math.min(size - offset, storedChunk)
      reader.read(target, offset, length, start + offset, (e) => {
        if (cancelled) return
        if (e !== null) return resume(Effect.fail(readFault(location, e)))
        onBytes(length)
        step(offset + length, offset)
      })
      crc = Crc32.update(crc, target.subarray(previous, offset))
    }
    step(0, 0)
    return Effect.sync(() => {
      cancelled = true
    })
  })

// A stored entry of an archive held in memory is a view of those bytes, once its CRC is checked: no copy.
const viewStored = (bytes: Uint8Array, entry: yauzl.Entry, start: number, location: Location, onBytes: (n: number) => void) =>
  Effect.suspend(() => {
    const end = start + entry.uncompressedSize
    if (end > bytes.byteLength) return Effect.fail(at(location, "CorruptZip", `entry data would end at ${end}, past ${bytes.byteLength}`))
    const view = bytes.subarray(start, end)
    if (Crc32.update(0, view) !== entry.crc32) return Effect.fail(at(location, "CorruptZip", "CRC-32 mismatch"))
    onBytes(view.byteLength)
    return Effect.succeed(view)
  })

// Inflates a deflated entry into a buffer of exactly its declared size: one allocation, one copy per chunk.
const inflate = (zip: yauzl.ZipFile, entry: yauzl.Entry, start: number, location: Location, onBytes: (n: number) => void) =>
  Effect.callback<Uint8Array, ArchiveError>((resume) => {
    const fail = (fault: ArchiveFault, detail: string) => Effect.fail(at(location, fault, detail))
    let settled = false
    let stream: Readable | undefined
    const settle = (result: Effect.Effect<Uint8Array, ArchiveError>) => {
      if (settled) return
      settled = true
      stream?.destroy()
      resume(result)
    }
    const size = entry.uncompressedSize
    const onStream = (error: Error | null, opened: Readable) => {
      if (error !== null) return settle(Effect.fail(readFault(location, error)))
      // Errors can still arrive from yauzl's inner streams after we are done; they must find a listener.
      opened.on("error", (cause) => settle(Effect.fail(readFault(location, cause))))
      if (settled) return void opened.destroy()
      stream = opened
      let target: Buffer
      try {
        target = Buffer.allocUnsafeSlow(size)
      } catch (cause) {
        return settle(fail("EntryTooLarge", `cannot allocate ${size} bytes: ${describe(cause)}`))
      }
      let offset = 0
      let crc = 0
      opened.on("data", (chunk: Buffer) => {
        if (settled) return
        if (offset + chunk.length > size) return settle(fail("CorruptZip", `more than the declared ${size} bytes`))
        target.set(chunk, offset)
        offset += chunk.length
        crc = Crc32.update(crc, chunk)
        onBytes(chunk.length)
      })
      opened.on("end", () => {
        if (offset !== size) return settle(fail("CorruptZip", `${offset} bytes, declared ${size}`))
        if (crc !== entry.crc32) return settle(fail("CorruptZip", "CRC-32 mismatch"))
        settled = true
        resume(Effect.succeed(new Uint8Array(target.buffer, target.byteOffset, size)))
      })
      opened.on("close", () => settle(fail("CorruptZip", "entry stream closed before its end")))
    }
    try {
      // The header was read and checked already: the low-level call streams the data without reading it again.
      zip.openReadStreamLowLevel(start, entry.compressedSize, 0, entry.compressedSize, true, size, onStream)
    } catch (cause) {
      settle(Effect.fail(readFault(location, cause)))
    }
    return Effect.sync(() => {
      settled = true
      stream?.destroy()
    })
  })

// The largest deflated entry of an archive in memory that is inflated in one call; a larger one is streamed,
// so that no buffer beyond the entry's own is allocated for it.
const inflateWholeBytes = 64 * 2 ** 20

// A deflated entry of an archive held in memory, inflated by zlib in one call on the thread pool: the stream
// yauzl gives hands zlib 16 KiB of output at a time, a round trip each (a thousand for a 17 MB `module.json`).
// Its faults are the stream's: the same zlib messages, and the same size and CRC checks.
const inflateWhole = (bytes: Uint8Array, entry: yauzl.Entry, start: number, location: Location, onBytes: (n: number) => void) =>
  Effect.callback<Uint8Array, ArchiveError>((resume) => {
    const fail = (fault: ArchiveFault, detail: string) => resume(Effect.fail(at(location, fault, detail)))
    const size = entry.uncompressedSize
    const end = start + entry.compressedSize
    if (end > bytes.byteLength) return fail("CorruptZip", `entry data would end at ${end}, past ${bytes.byteLength}`)
    let cancelled = false
    // zlib stops as soon as the output passes the declared size (the first chunk holds one byte more).
    const options = { chunkSize: Math.max(64, size + 1), maxOutputLength: Math.max(1, size) }
    inflateRaw(bytes.subarray(start, end), options, (error, out) => {
      if (cancelled) return
      if (error !== null) {
        const tooLarge = (error as { readonly code?: unknown }).code === "ERR_BUFFER_TOO_LARGE"
        return tooLarge ? fail("CorruptZip", `more than the declared ${size} bytes`) : resume(Effect.fail(readFault(location, error)))
      }
      if (out.byteLength > size) return fail("CorruptZip", `more than the declared ${size} bytes`)
      if (out.byteLength !== size) return fail("CorruptZip", `${out.byteLength} bytes, declared ${size}`)
      if (Crc32.update(0, out) !== entry.crc32) return fail("CorruptZip", "CRC-32 mismatch")
      onBytes(size)
      resume(Effect.succeed(new Uint8Array(out.buffer, out.byteOffset, size)))
    })
    return Effect.sync(() => {
      cancelled = true
    })
  })

// One entry, its local header checked first. Stored entries are read directly: from a file into their buffer
// (readStored), from memory as views (viewStored); deflated ones are inflated, from memory in one call where
// they are small enough (inflateWhole).
const readEntry = (
  zip: yauzl.ZipFile,
  source: ZipSource,
  entry: yauzl.Entry,
  bound: number,
  location: Location,
  onBytes: (n: number) => void
): Effect.Effect<Uint8Array, ArchiveError> =>
  Effect.flatMap(dataStart(zip, entry, bound, location), (start) => {
    const reader = readerOf(zip)
    if (entry.compressionMethod === 0 && source._tag === "Bytes") return viewStored(source.bytes, entry, start, location, onBytes)
    if (entry.compressionMethod === 0 && reader instanceof FileReader) return readStored(reader, entry, start, location, onBytes)
    if (source._tag === "Bytes" && entry.uncompressedSize <= inflateWholeBytes) {
      return inflateWhole(source.bytes, entry, start, location, onBytes)
    }
    return inflate(zip, entry, start, location, onBytes)
  })

/**
 * Opens an archive and reads its whole central directory, refusing hostile names, duplicates, encryption,
 * unknown compression, impossible sizes, data outside the file, an end record that disagrees with the
 * directory, and records that share or overlap each other's data; sizes and counts are held to the
 * {@link Limits} in force. The handle closes with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (given: ZipSource): Effect.Effect<ZipReader, ArchiveError, Scope.Scope> =>
  Effect.gen(function*() {
    const limits = yield* Limits
    const archive = given._tag === "File" ? given.path : given.label
    const source = yield* inMemory(given)
    const zip = yield* Effect.acquireRelease(openZip(source, archive), (zip) => Effect.sync(() => zip.close()), {
      interruptible: true
    })
    const checked = Effect.gen(function*() {
      const directory = yield* scan(zip, archive, limits)
      const end = yield* readEnd(zip, source, archive)
      const fault = endFault(end, directory)
      if (fault !== undefined) return yield* Effect.fail(at({ archive }, "CorruptZip", fault))
      return { files: directory.files, bounds: yield* bounds(directory, end.offset, archive) }
    })
    // Close at once on a bad directory rather than holding the file until the caller's scope ends.
    const { files, bounds: ends } = yield* checked.pipe(Effect.onError(() => Effect.sync(() => zip.close())))
    const entries = new Map<string, ZipEntry>()
    let totalBytes = 0
    for (const [name, { compressedSize, uncompressedSize, compressionMethod }] of files) {
      entries.set(name, { name, compressedSize, uncompressedSize, stored: compressionMethod === 0 })
      totalBytes += uncompressedSize
    }
    const report = yield* Progress
    let readBytes = 0
    const onBytes = (n: number) => {
      readBytes += n
      report({ archive, direction: "read", bytes: Math.min(readBytes, totalBytes), totalBytes })
    }
    // Runs of small entries are read ahead from a file only: an archive in memory serves every read as it is.
    const reader = readerOf(zip)
    const file = reader instanceof FileReader ? { reader, runs: smallRuns(ends) } : undefined
    const read = (name: string): Effect.Effect<Uint8Array, ArchiveError> => {
      const entry = files.get(name)
      if (entry === undefined) return Effect.fail(at({ archive, entry: name }, "MissingEntry", "no such entry"))
      if (!zip.isOpen) return Effect.die(new Error(`${archive}: read of ${name} after the archive's scope closed`))
      const bound = ends.get(entry)!
      const direct = readEntry(zip, source, entry, bound, { archive, entry: name }, onBytes)
      if (file === undefined || file.reader.holds(entry.relativeOffsetOfLocalHeader, bound)) return direct
      const run = file.runs(entry)
      if (run === undefined) return direct
      return Effect.andThen(Effect.callback<void>((resume) => file.reader.readAhead(run.start, run.end, () => resume(Effect.void))), direct)
    }
    const readJson = (name: string): Effect.Effect<Uint8Array, ArchiveError> => {
      const size = files.get(name)?.uncompressedSize ?? 0
      if (size > limits.jsonBytes) {
        const detail = overLimit(limits, "jsonBytes", `a JSON or text entry of ${size} bytes`)
        return Effect.fail(at({ archive, entry: name }, "EntryTooLarge", detail))
      }
      return read(name)
    }
    return { archive, entries, read, readJson }
  })
