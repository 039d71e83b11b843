/**
 * Writing zips: entries out, streamed into a file (atomically, through a temporary file beside it) or into
 * memory. The records are trtx's own (`Layout.ts`): a chunked tensor is never joined into one buffer, zip64 is
 * used once an entry or the archive passes 4 GiB, and each CRC-32 is zlib's (about 5 GB/s). No maintained zip
 * writer takes a CRC-32 from its caller, and the JavaScript ones compute it at under 0.5 GB/s, which capped
 * the writing of weights. The same entries always give the same bytes. Reading is `Zip.ts`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { Writable } from "node:stream"
import { deflateRaw as zlibDeflateRaw } from "node:zlib"
import { type ArchiveError, at } from "../ArchiveError.ts"
import * as Crc32 from "./Crc32.ts"
import * as EntryName from "./EntryName.ts"
import * as Layout from "./Layout.ts"
import { type Event as ProgressEvent, Progress } from "./Progress.ts"
import * as TempFile from "./TempFile.ts"

// ===== Models =====

/**
 * One entry to write. An array of chunks is streamed into the archive without being joined, its sizes after
 * its data (as yazl writes a stream); {@link Pieces} are written as the one buffer they make.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZipWriteEntry {
  readonly name: string
  readonly data: Uint8Array | ReadonlyArray<Uint8Array> | Pieces
  readonly compress: boolean
}

/**
 * One buffer given as the pieces it is made of: an entry of pieces is written byte for byte as the joined
 * buffer would be (its CRC-32 and sizes in its local header, up to `Layout.knownLimit` bytes), without the
 * join, which for a large engine's custom object would be a copy of hundreds of megabytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pieces {
  readonly _tag: "Pieces"
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly byteLength: number
}

/**
 * The pieces of a buffer made of `chunks`, in order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const pieces = (chunks: ReadonlyArray<Uint8Array>): Pieces => ({
  _tag: "Pieces",
  chunks,
  byteLength: chunks.reduce((n, c) => n + c.byteLength, 0)
})

/**
 * The buffer the pieces make, in a fresh array.
 *
 * @since 0.1.0
 * @category getters
 */
export const join = (p: Pieces): Uint8Array => {
  const out = new Uint8Array(p.byteLength)
  p.chunks.reduce((offset, c) => (out.set(c, offset), offset + c.byteLength), 0)
  return out
}

// An entry's data as the chunks of one buffer (a buffer, or pieces), or undefined for a chunk list.
const wholeChunks = (data: ZipWriteEntry["data"]): ReadonlyArray<Uint8Array> | undefined =>
  ArrayBuffer.isView(data) ? [data] : isPieces(data) ? data.chunks : undefined

const isPieces = (data: ZipWriteEntry["data"]): data is Pieces => !ArrayBuffer.isView(data) && "_tag" in data

const chunksOf = (data: ZipWriteEntry["data"]): ReadonlyArray<Uint8Array> =>
  wholeChunks(data) ?? (data as ReadonlyArray<Uint8Array>)


const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

// ===== Writing =====


// A file stream fails a write of more than 2^31 - 1 bytes ("A system error occurred: undefined returned
// undefined"): a weight or engine of 2 GiB and more is handed to it in views of at most this many bytes.
const WRITE_SLICE = 2 ** 30

const deflateRaw = (data: Uint8Array): Promise<Uint8Array> =>
  new Promise((resolve, reject) => zlibDeflateRaw(data, { level: 6 }, (error, out) => (error === null ? resolve(out) : reject(error))))

// Streams a zip of `entries` into a new sink; settles only once the sink has closed, so that a caller removing
// the file afterwards cannot race a pending open or write. The sink is made here, inside the callback, so
// that no file is opened before the canceller exists.
const pump = (archive: string, entries: Iterable<ZipWriteEntry>, makeSink: () => Writable) =>
  Effect.flatMap(Progress, (report) => pumpTo(archive, entries, makeSink, report))

// Every name is checked before a byte is written: a bad one fails the write with nothing in the sink.
const checkNames = (archive: string, list: ReadonlyArray<ZipWriteEntry>): ArchiveError | undefined => {
  const seen = new Set<string>()
  for (const entry of list) {
    const location = { archive, entry: entry.name }
    const problem = entry.name.endsWith("/") ? "directory names cannot be written" : EntryName.problem(entry.name)
    if (problem !== undefined) return at(location, "HostileEntryName", problem)
    if (seen.has(entry.name)) return at(location, "DuplicateEntry", "a second entry of this name")
    seen.add(entry.name)
  }
  return undefined
}

const pumpTo = (archive: string, entries: Iterable<ZipWriteEntry>, makeSink: () => Writable, report: (event: ProgressEvent) => void) =>
  Effect.callback<void, ArchiveError>((resume) => {
    let list: Array<ZipWriteEntry>
    try {
      list = Array.from(entries)
    } catch (cause) {
      return resume(Effect.fail(at({ archive }, "WriteFailed", describe(cause))))
    }
    const refused = checkNames(archive, list)
    if (refused !== undefined) return resume(Effect.fail(refused))
    const sink = makeSink()
    let failure: ArchiveError | undefined
    let finished = false
    let closed = false
    const onClosed: Array<() => void> = []
    const abort = (error: ArchiveError) => {
      failure ??= error
      sink.destroy()
    }
    const writeFailed = (cause: unknown) => abort(at({ archive }, "WriteFailed", describe(cause)))
    let totalBytes = 0
    for (const { data } of list) {
      if (ArrayBuffer.isView(data) || isPieces(data)) totalBytes += data.byteLength
      else for (let i = 0; i < data.length; i++) totalBytes += data[i]!.byteLength
    }
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

    // Bytes into the sink, waiting for it to drain; `offset` is where the next byte lands.
    let offset = 0
    const write = (chunk: Uint8Array): Promise<void> | undefined => {
      if (chunk.byteLength > WRITE_SLICE) return writeSlices(chunk)
      offset += chunk.byteLength
      report({ archive, direction: "write", bytes: Math.min(offset, totalBytes), totalBytes })
      if (sink.write(chunk)) return undefined
      return new Promise((resolve) => {
        const settle = () => {
          sink.off("drain", settle)
          sink.off("close", settle)
          resolve()
        }
        sink.on("drain", settle)
        sink.on("close", settle)
      })
    }
    const writeSlices = async (chunk: Uint8Array): Promise<void> => {
      for (let at = 0; at < chunk.byteLength && failure === undefined; at += WRITE_SLICE) {
        await write(chunk.subarray(at, Math.min(at + WRITE_SLICE, chunk.byteLength)))
      }
    }
    const encoder = new TextEncoder()
    // An entry given as one buffer of at most Layout.knownLimit bytes, or deflated, is prepared before its
    // local header is written: its CRC-32 (and deflated bytes) go into the header. The next entry is prepared
    // while the current one's data drains into the sink, so that the CRC-32 overlaps the disk's write.
    type Prepared =
      | {
        readonly _tag: "Whole"
        readonly deflated: boolean
        readonly crc32: number
        readonly size: number
        readonly packed: ReadonlyArray<Uint8Array>
        readonly sizesAfterData: boolean
      }
      | { readonly _tag: "Chunks" }
      | { readonly _tag: "Failed"; readonly cause: unknown }
    const prepare = (entry: ZipWriteEntry): Promise<Prepared> => {
      const whole = wholeChunks(entry.data)
      const size = whole?.reduce((n, c) => n + c.byteLength, 0)
      if (!entry.compress && (size === undefined || size > Layout.knownLimit)) return Promise.resolve({ _tag: "Chunks" })
      try {
        // Stored: the CRC-32 runs over the pieces as they are. Deflated: they are joined for zlib.
        const all = chunksOf(entry.data)
        const chunks = entry.compress && all.length !== 1 ? [Buffer.concat(Array.from(all))] : all
        let crc = 0
        for (const c of chunks) crc = Crc32.update(crc, c)
        const total = chunks.reduce((n, c) => n + c.byteLength, 0)
        const sizesAfterData = size === undefined || size > Layout.knownLimit
        const made = (packed: ReadonlyArray<Uint8Array>): Prepared => ({ _tag: "Whole", deflated: entry.compress, crc32: crc, size: total, packed, sizesAfterData })
        return entry.compress
          ? deflateRaw(chunks[0]!).then((d) => made([d]), (cause) => ({ _tag: "Failed", cause }))
          : Promise.resolve(made(chunks))
      } catch (cause) {
        return Promise.resolve({ _tag: "Failed", cause })
      }
    }
    // A chunk list is consumed as it is written (its CRC-32 and size counted on the way), so a chunked tensor
    // is never joined; its sizes follow its data, in a data descriptor.
    const writeChunks = async (entry: ZipWriteEntry, name: Uint8Array): Promise<Layout.EntryFacts | undefined> => {
      const header = { name, deflated: false, crc32: 0, compressedSize: 0, uncompressedSize: 0, offset, sizesAfterData: true }
      await write(Layout.localHeader(header))
      let crc = 0
      let size = 0
      for (const chunk of chunksOf(entry.data)) {
        if (failure !== undefined) return undefined
        crc = Crc32.update(crc, chunk)
        size += chunk.byteLength
        await write(chunk)
      }
      const facts = { ...header, crc32: crc, compressedSize: size, uncompressedSize: size }
      await write(Layout.dataDescriptor(facts))
      return facts
    }
    const run = async () => {
      const records: Array<Uint8Array> = []
      let next = list.length > 0 ? prepare(list[0]!) : undefined
      for (let i = 0; i < list.length; i++) {
        const entry = list[i]!
        const prepared = await next!
        if (failure !== undefined) return
        try {
          if (prepared._tag === "Failed") throw prepared.cause
          const name = encoder.encode(entry.name)
          let facts: Layout.EntryFacts | undefined
          if (prepared._tag === "Whole") {
            facts = {
              name,
              deflated: prepared.deflated,
              crc32: prepared.crc32,
              compressedSize: prepared.packed.reduce((n, c) => n + c.byteLength, 0),
              uncompressedSize: prepared.size,
              offset,
              sizesAfterData: prepared.sizesAfterData
            }
            await write(Layout.localHeader(facts))
            // All but the last piece drain before the next entry is prepared; the last one drains meanwhile.
            const packed = prepared.packed
            for (let k = 0; k < packed.length - 1; k++) await write(packed[k]!)
            const drained = packed.length > 0 ? write(packed[packed.length - 1]!) : undefined
            next = i + 1 < list.length ? prepare(list[i + 1]!) : undefined
            await drained
            await write(Layout.dataDescriptor(facts))
          } else {
            facts = await writeChunks(entry, name)
            next = i + 1 < list.length ? prepare(list[i + 1]!) : undefined
          }
          if (facts === undefined) return
          records.push(Layout.centralRecord(facts))
        } catch (cause) {
          return abort(at({ archive, entry: entry.name }, "WriteFailed", describe(cause)))
        }
      }
      const directoryOffset = offset
      for (const record of records) await write(record)
      if (failure !== undefined) return
      await write(Layout.endRecords(records.length, directoryOffset, offset - directoryOffset))
      sink.end()
    }
    run().catch(writeFailed)
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
 * Temporary files are named as {@link TempFile.make} names them, whatever `path` is called; those that killed
 * writes left in the same directory are removed first ({@link TempFile.sweep}).
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeFile = (path: string, entries: Iterable<ZipWriteEntry>): Effect.Effect<void, ArchiveError> =>
  Effect.suspend(() => {
    const directory = nodePath.dirname(path)
    const temp = TempFile.make(directory)
    const rename = Effect.callback<void, ArchiveError>((resume) =>
      fs.rename(temp, path, (error) =>
        resume(error === null ? Effect.void : Effect.fail(at({ archive: path }, "WriteFailed", error.message)))
      )
    )
    return TempFile.sweep(directory).pipe(
      Effect.andThen(pump(path, entries, () => fs.createWriteStream(temp, { flags: "wx", mode: 0o644, flush: true }))),
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
  Effect.map(toPieces(entries), join)

/**
 * Writes a zip of `entries` into memory, as the pieces written (an entry's own buffers among them, not
 * copied): for an archive that is itself an entry of another (a `.pt2`'s custom objects). The same entries
 * always give the same bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toPieces = (entries: Iterable<ZipWriteEntry>): Effect.Effect<Pieces, ArchiveError> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    const sink = () =>
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk)
          callback()
        }
      })
    return pump("<bytes>", entries, sink).pipe(Effect.map(() => pieces(chunks)))
  })
