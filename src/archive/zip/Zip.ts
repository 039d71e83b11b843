/**
 * The zip container under every archive trtx reads or writes: entries in, entries out, nothing about what
 * they mean. This is the one place where foreign errors (yauzl, yazl, `fs`) become {@link ArchiveError}s.
 *
 * Reading uses `yauzl` because it reads the central directory with random access (an entry's data is read
 * only when asked for), streams each entry, understands zip64, and checks names and sizes itself.
 * Writing uses `yazl` because it streams (a chunked tensor never has to be joined into one buffer) and
 * switches to zip64 by itself once an entry or the archive passes 4 GiB.
 *
 * Every declared size is checked at {@link open}, before a single byte of data is read, because
 * `ZipReader.read` allocates an entry's declared size up front: a stored entry must have equal sizes, a
 * deflated entry cannot inflate by more than deflate's maximum ratio (1032:1), the caller's {@link ReadLimits}
 * bound each entry and the total, and an entry's data must lie inside the file. A forged central directory
 * therefore fails at open with `EntryTooLarge` or `CorruptZip` instead of asking for gigabytes; data that
 * disagrees with its declared size or CRC fails at read with `CorruptZip`.
 *
 * It plays the part of PyTorch's `PyTorchStreamReader` / `PyTorchStreamWriter`
 * (`caffe2/serialize/inline_container.cc`), without their 64-byte alignment of entry data.
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as nodePath from "node:path"
import { Readable, Writable } from "node:stream"
import { crc32 } from "node:zlib"
import * as yauzl from "yauzl"
import * as yazl from "yazl"
import { type ArchiveError, type ArchiveFault, at, type Location } from "../ArchiveError.ts"
import { type Event as ProgressEvent, Progress } from "./Progress.ts"

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

/**
 * Bounds on what {@link open} accepts, checked against the declared sizes before anything is read.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadLimits {
  readonly maxEntryBytes: number
  readonly maxTotalBytes: number
  readonly maxEntries: number
}

/**
 * Generous limits: 64 GiB per entry and in total, a million entries.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultReadLimits: ReadLimits = {
  maxEntryBytes: 64 * 2 ** 30,
  maxTotalBytes: 64 * 2 ** 30,
  maxEntries: 1_000_000
}

/**
 * One entry to write. An array of chunks is streamed into the archive without being joined.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZipWriteEntry {
  readonly name: string
  readonly data: Uint8Array | ReadonlyArray<Uint8Array>
  readonly compress: boolean
}

// yazl computes every entry's CRC-32 with buffer-crc32, a byte-at-a-time table in JavaScript (0.45 GB/s,
// synchronously in addBuffer); zlib's is the same function at about 5 GB/s. yazl looks `unsigned` up on the
// module at each call, so replacing it there is enough.
const yazlCrc32: { unsigned: (data: Uint8Array, previous?: number) => number } =
  createRequire(createRequire(import.meta.url).resolve("yazl"))("buffer-crc32")
yazlCrc32.unsigned = (data, previous) => crc32(data, previous ?? 0)

// ===== Names and foreign errors =====

// Why a name is unsafe to extract, or undefined. Stricter than yauzl: empty and "." segments and NUL are
// refused too, so that no two different names can land on the same path.
const nameProblem = (name: string): string | undefined => {
  if (name === "") return "empty name"
  if (name.includes("\0")) return "NUL in name"
  if (name.includes("\\")) return "backslash in name"
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "absolute path"
  const segments = (name.endsWith("/") ? name.slice(0, -1) : name).split("/")
  if (segments.includes("..")) return "parent segment (..)"
  if (segments.includes("")) return "empty segment"
  if (segments.includes(".")) return "current-directory segment (.)"
  return undefined
}

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
class FileReader extends yauzl.RandomAccessReader {
  private readonly fd: number
  private readonly size: number
  private pending = 0
  private closing: ((error: Error | null) => void) | undefined
  constructor(fd: number, size: number) {
    super()
    this.fd = fd
    this.size = size
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
  override read(buffer: Buffer, offset: number, length: number, position: number, cb: (e: Error | null) => void) {
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

const openFile = (path: string, done: (error: unknown, zip?: yauzl.ZipFile) => void) =>
  fs.open(path, "r", (error, fd) => {
    if (error !== null) return done(error)
    const fail = (cause: unknown) => fs.close(fd, () => done(cause))
    fs.fstat(fd, (error, { size }) => {
      if (error !== null) return fail(error)
      try {
        yauzl.fromRandomAccessReader(new FileReader(fd, size), size, yauzlOptions(), (e, zip) => {
          if (e !== null) fail(e)
          else done(null, zip)
        })
      } catch (cause) {
        fail(cause)
      }
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

// The checks of one central-directory record, in the order a reader of the error would want them.
const entryFault = (
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  limits: ReadLimits,
  total: number
): readonly [ArchiveFault, string] | undefined => {
  const problem = nameProblem(entry.fileName)
  if (problem !== undefined) return ["HostileEntryName", problem]
  const { compressedSize: packed, uncompressedSize: size, compressionMethod: method } = entry
  if ((entry.generalPurposeBitFlag & 0x1) !== 0) return ["CorruptZip", "encrypted entries are not supported"]
  if (method !== 0 && method !== 8) return ["CorruptZip", `unsupported compression method ${method}`]
  if (method === 0 && size !== packed) return ["EntryTooLarge", `stored entry declares ${size} != ${packed} bytes`]
  if (method === 8 && size > packed * 1032 + 1024) {
    return ["EntryTooLarge", `${packed} deflated bytes cannot inflate to the declared ${size}`]
  }
  if (size > limits.maxEntryBytes) return ["EntryTooLarge", `${size} bytes exceeds the limit ${limits.maxEntryBytes}`]
  if (total + size > limits.maxTotalBytes) {
    return ["EntryTooLarge", `entries total more than the limit ${limits.maxTotalBytes} bytes`]
  }
  // The local header is at least 30 bytes plus the name; its extra field can only push the data further out.
  const end = entry.relativeOffsetOfLocalHeader + 30 + entry.fileNameRaw.length + packed
  if (end > zip.fileSize) return ["CorruptZip", `entry data would end at ${end}, past the file's ${zip.fileSize}`]
  return undefined
}

// Reads the whole central directory, one record at a time, stopping at the first fault.
const scan = (zip: yauzl.ZipFile, archive: string, limits: ReadLimits) =>
  Effect.callback<Map<string, yauzl.Entry>, ArchiveError>((resume) => {
    // A central-directory record takes at least 46 bytes, so a forged count fails here without a read.
    if (zip.entryCount * 46 > zip.fileSize) {
      return resume(Effect.fail(at({ archive }, "CorruptZip", `${zip.entryCount} entries cannot fit in the file`)))
    }
    if (zip.entryCount > limits.maxEntries) {
      return resume(Effect.fail(at({ archive }, "EntryTooLarge", `${zip.entryCount} entries exceeds the limit`)))
    }
    const files = new Map<string, yauzl.Entry>()
    const seen = new Set<string>()
    let total = 0
    let settled = false
    const settle = (result: Effect.Effect<Map<string, yauzl.Entry>, ArchiveError>) => {
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
      if (!entry.fileName.endsWith("/")) files.set(entry.fileName, entry)
      try {
        zip.readEntry()
      } catch (cause) {
        settle(Effect.fail(readFault(location, cause)))
      }
    }
    const onEnd = () => settle(Effect.succeed(files))
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

// Reads per call of a stored entry read straight from its file.
const storedChunk = 16 * 2 ** 20

// A stored entry of a file, read by the kernel straight into one buffer of its size (no stream, no chunk
// buffers, one copy), 16 MiB per read; each chunk's CRC is computed while the next one is read.
const readStored = (zip: yauzl.ZipFile, reader: FileReader, entry: yauzl.Entry, location: Location, onBytes: (n: number) => void) =>
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
    zip.readLocalFileHeader(entry, { minimal: true }, (error, header) => {
      if (cancelled) return
      if (error !== null) return resume(Effect.fail(readFault(location, error)))
      const start = header.fileDataStart
      let crc = 0
      const step = (offset: number, previous: number) => {
        if (offset === size) {
          crc = crc32(target.subarray(previous, offset), crc)
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
        crc = crc32(target.subarray(previous, offset), crc)
      }
      step(0, 0)
    })
    return Effect.sync(() => {
      cancelled = true
    })
  })

// A stored entry of an archive held in memory is a view of those bytes, once its CRC is checked: no copy.
const viewStored = (zip: yauzl.ZipFile, bytes: Uint8Array, entry: yauzl.Entry, location: Location, onBytes: (n: number) => void) =>
  Effect.callback<Uint8Array, ArchiveError>((resume) => {
    zip.readLocalFileHeader(entry, { minimal: true }, (error, header) => {
      if (error !== null) return resume(Effect.fail(readFault(location, error)))
      const start = header.fileDataStart
      const end = start + entry.uncompressedSize
      if (end > bytes.byteLength) return resume(Effect.fail(at(location, "CorruptZip", `entry data would end at ${end}, past ${bytes.byteLength}`)))
      const view = bytes.subarray(start, end)
      if (crc32(view) !== entry.crc32) return resume(Effect.fail(at(location, "CorruptZip", "CRC-32 mismatch")))
      onBytes(view.byteLength)
      resume(Effect.succeed(view))
    })
  })

// Streams one entry into a buffer of exactly its declared size: one allocation, one copy per chunk. Stored
// entries are read directly: from a file into their buffer (readStored), from memory as views (viewStored).
const readEntry = (
  zip: yauzl.ZipFile,
  source: ZipSource,
  entry: yauzl.Entry,
  location: Location,
  onBytes: (n: number) => void
): Effect.Effect<Uint8Array, ArchiveError> => {
  // yauzl keeps the reader it was opened with as `reader` (untyped).
  const reader = (zip as unknown as { readonly reader: unknown }).reader
  if (entry.compressionMethod === 0 && source._tag === "Bytes") return viewStored(zip, source.bytes, entry, location, onBytes)
  if (entry.compressionMethod === 0 && reader instanceof FileReader) return readStored(zip, reader, entry, location, onBytes)
  return Effect.callback<Uint8Array, ArchiveError>((resume) => {
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
        crc = crc32(chunk, crc)
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
      zip.openReadStream(entry, onStream)
    } catch (cause) {
      settle(Effect.fail(readFault(location, cause)))
    }
    return Effect.sync(() => {
      settled = true
      stream?.destroy()
    })
  })
}

/**
 * Opens an archive and reads its whole central directory, refusing hostile names, duplicates, encryption,
 * unknown compression, impossible sizes and data outside the file. The handle closes with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (
  source: ZipSource,
  limits: ReadLimits = defaultReadLimits
): Effect.Effect<ZipReader, ArchiveError, Scope.Scope> =>
  Effect.gen(function*() {
    const archive = source._tag === "File" ? source.path : source.label
    const zip = yield* Effect.acquireRelease(openZip(source, archive), (zip) => Effect.sync(() => zip.close()), {
      interruptible: true
    })
    // Close at once on a bad directory rather than holding the file until the caller's scope ends.
    const files = yield* scan(zip, archive, limits).pipe(Effect.onError(() => Effect.sync(() => zip.close())))
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
    const read = (name: string): Effect.Effect<Uint8Array, ArchiveError> => {
      const entry = files.get(name)
      if (entry === undefined) return Effect.fail(at({ archive, entry: name }, "MissingEntry", "no such entry"))
      if (!zip.isOpen) return Effect.die(new Error(`${archive}: read of ${name} after the archive's scope closed`))
      return readEntry(zip, source, entry, { archive, entry: name }, onBytes)
    }
    return { archive, entries, read }
  })

// ===== Writing =====

// yazl turns the Date into DOS fields from its *local* components, so a local-time date gives the same bytes
// in every time zone; 1980-01-01 is the earliest DOS date. The Unix timestamp extra field is turned off
// (forceDosTimestamp) because it is absolute time and would differ between zones.
const fixedOptions = { mtime: new Date(1980, 0, 1), mode: 0o100644, forceDosTimestamp: true }

// yazl's addBuffer refuses buffers over 1 GiB; larger ones go through the streaming path.
const maxBufferEntry = 0x3fffffff

// Streams a zip of `entries` into a new sink; settles only once the sink has closed, so that a caller removing
// the file afterwards cannot race a pending open or write. The sink is made here, inside the callback, so
// that no file is opened before the canceller exists.
const pump = (archive: string, entries: Iterable<ZipWriteEntry>, makeSink: () => Writable) =>
  Effect.flatMap(Progress, (report) => pumpTo(archive, entries, makeSink, report))

const pumpTo = (archive: string, entries: Iterable<ZipWriteEntry>, makeSink: () => Writable, report: (event: ProgressEvent) => void) =>
  Effect.callback<void, ArchiveError>((resume) => {
    const sink = makeSink()
    const zip = new yazl.ZipFile()
    const output = zip.outputStream as Readable
    const inputs: Array<Readable> = []
    let failure: ArchiveError | undefined
    let finished = false
    let closed = false
    const onClosed: Array<() => void> = []
    const abort = (error: ArchiveError) => {
      failure ??= error
      for (const input of inputs) input.destroy()
      output.destroy()
      sink.destroy()
    }
    const writeFailed = (cause: unknown) => abort(at({ archive }, "WriteFailed", describe(cause)))
    sink.on("finish", () => {
      finished = true
      // Deflated entries write fewer bytes than their data: the end is reported as the whole.
      report({ archive, direction: "write", bytes: totalBytes, totalBytes })
    })
    sink.on("error", writeFailed)
    sink.on("close", () => {
      closed = true
      for (const f of onClosed) f()
      if (failure !== undefined) resume(Effect.fail(failure))
      else if (finished) resume(Effect.void)
      else resume(Effect.fail(at({ archive }, "WriteFailed", "output closed before the archive was complete")))
    })
    zip.on("error", writeFailed)
    output.on("error", writeFailed)
    // Bytes out of the zip stream, against the entries' data.
    let totalBytes = 0
    let written = 0
    output.on("data", (chunk: Buffer) => {
      written += chunk.length
      report({ archive, direction: "write", bytes: Math.min(written, totalBytes), totalBytes })
    })
    output.pipe(sink)
    try {
      // The total first: yazl may write the first bytes while the first entry is being added.
      const list = Array.from(entries)
      for (const { data } of list) {
        if (ArrayBuffer.isView(data)) totalBytes += data.byteLength
        else for (let i = 0; i < data.length; i++) totalBytes += data[i]!.byteLength
      }
      const seen = new Set<string>()
      for (const entry of list) {
        if (failure !== undefined) return
        const location = { archive, entry: entry.name }
        const problem = entry.name.endsWith("/") ? "directory names cannot be written" : nameProblem(entry.name)
        if (problem !== undefined) return abort(at(location, "HostileEntryName", problem))
        if (seen.has(entry.name)) return abort(at(location, "DuplicateEntry", "a second entry of this name"))
        seen.add(entry.name)
        const options = { ...fixedOptions, compress: entry.compress }
        const { data } = entry
        if (ArrayBuffer.isView(data) && data.byteLength <= maxBufferEntry) {
          zip.addBuffer(Buffer.from(data.buffer, data.byteOffset, data.byteLength), entry.name, options)
        } else {
          const chunks: ReadonlyArray<Uint8Array> = ArrayBuffer.isView(data) ? [data] : data
          let size = 0
          for (let i = 0; i < chunks.length; i++) size += chunks[i]!.byteLength
          const input = Readable.from(chunks, { objectMode: false })
          input.on("error", (cause) => abort(at(location, "WriteFailed", describe(cause))))
          inputs.push(input)
          zip.addReadStream(input, entry.name, { ...options, size })
        }
      }
      if (failure === undefined) zip.end()
    } catch (cause) {
      writeFailed(cause)
    }
    return Effect.callback<void>((done) => {
      if (closed) return done(Effect.void)
      onClosed.push(() => done(Effect.void))
      abort(at({ archive }, "WriteFailed", "interrupted"))
    })
  })

const removeQuietly = (path: string) =>
  Effect.callback<void>((resume) => fs.rm(path, { force: true }, () => resume(Effect.void)))

/**
 * Writes a zip of `entries` to `path` atomically: into a temporary file beside it, flushed, then renamed over
 * `path`. On any failure, interruption included, the temporary file is removed and `path` is left as it was.
 * The same entries always give the same bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeFile = (path: string, entries: Iterable<ZipWriteEntry>): Effect.Effect<void, ArchiveError> =>
  Effect.suspend(() => {
    const name = `.${nodePath.basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
    const temp = nodePath.join(nodePath.dirname(path), name)
    const rename = Effect.callback<void, ArchiveError>((resume) =>
      fs.rename(temp, path, (error) =>
        resume(error === null ? Effect.void : Effect.fail(at({ archive: path }, "WriteFailed", error.message)))
      )
    )
    return pump(path, entries, () => fs.createWriteStream(temp, { flags: "wx", mode: 0o644, flush: true })).pipe(
      // Once started, the rename's outcome must be known before deciding whether to clean up.
      Effect.andThen(Effect.uninterruptible(rename)),
      Effect.onError(() => removeQuietly(temp))
    )
  })

/**
 * Writes a zip of `entries` into memory. The same entries always give the same bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toBytes = (entries: Iterable<ZipWriteEntry>): Effect.Effect<Uint8Array, ArchiveError> =>
  Effect.suspend(() => {
    const chunks: Array<Buffer> = []
    let size = 0
    const sink = () =>
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk)
          size += chunk.byteLength
          callback()
        }
      })
    // Copied into a fresh array rather than Buffer.concat, whose small results share Node's buffer pool.
    return pump("<bytes>", entries, sink).pipe(Effect.map(() => {
      const out = new Uint8Array(size)
      chunks.reduce((offset, chunk) => (out.set(chunk, offset), offset + chunk.byteLength), 0)
      return out
    }))
  })
