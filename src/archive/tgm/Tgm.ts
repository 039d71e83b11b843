/**
 * Reading and writing `.tgm` compiled-module archives (`shared/spec/compiled-module-archive.md`).
 *
 * Reading validates everything before anything is handed out: the container (`Zip.ts`), `format.json`
 * (format and version), `module.json` against its schema (`Records.ts`), then every reference (`Decode.ts`),
 * and, where the archive has it, `op_schemas.json` (the operator schemas of the graphs, a trtx addition to
 * the spec: `docs/divergences.md`). Only the entries `module.json` points to are read, each into one buffer
 * that the tensors and engine records view without copying. Unknown entries are ignored, for forward
 * compatibility.
 *
 * Writing is deterministic (the same module gives the same bytes) and atomic (a temporary file renamed
 * into place). Storages and engines are stored uncompressed, so that a reader can map them as they are.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as Zip from "../zip/Zip.ts"
import * as ZipWriter from "../zip/ZipWriter.ts"
import type { GraphModule } from "../../graph/Module.ts"
import * as Decode from "./Decode.ts"
import * as Encode from "./Encode.ts"
import * as Records from "./Records.ts"

// ===== Models =====

/**
 * Who wrote an archive (`format.json`'s `producer`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Producer {
  readonly torch?: string | null
  readonly torch_tensorrt?: string | null
  readonly tool?: string | null
}

/**
 * The producer trtx writes.
 *
 * @since 0.1.0
 * @category models
 */
export const trtxProducer: Producer = { torch: null, torch_tensorrt: null, tool: "trtx" }

// ===== Decoding =====

/**
 * Reads a `.tgm` archive from a file or from bytes: the module, holding the operator schemas of
 * `op_schemas.json` where the archive has one (`GraphModule.opSchemas`).
 *
 * @since 0.1.0
 * @category decoding
 */
export const read = (source: Zip.ZipSource): Effect.Effect<GraphModule, ArchiveError.ArchiveError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const zip = yield* Zip.open(source)
      const archive = zip.archive
      const format = yield* Json.decode(Records.FormatRecord, yield* zip.readJson("format.json"), {
        archive,
        entry: "format.json"
      })
      if (format.format !== Records.FORMAT) {
        return yield* ArchiveError.at(
          { archive, entry: "format.json", path: "$.format" },
          "UnsupportedVersion",
          `format ${JSON.stringify(format.format)} is not ${JSON.stringify(Records.FORMAT)}`
        )
      }
      if (format.version !== Records.VERSION) {
        return yield* ArchiveError.at(
          { archive, entry: "format.json", path: "$.version" },
          "UnsupportedVersion",
          `version ${format.version} is not supported (this reader knows version ${Records.VERSION})`
        )
      }
      const root = yield* Json.decode(Records.RootRecord, yield* zip.readJson("module.json"), {
        archive,
        entry: "module.json"
      })
      const entries = new Map<string, Uint8Array>()
      for (const name of Decode.entriesReferenced(root)) {
        // An absent entry is reported by the decoder, at the JSON path that names it.
        if (zip.entries.has(name)) entries.set(name, yield* zip.read(name))
      }
      const schemaTexts = zip.entries.has(Records.SCHEMAS_ENTRY)
        ? yield* Json.decode(Records.OpSchemasRecord, yield* zip.readJson(Records.SCHEMAS_ENTRY), {
          archive,
          entry: Records.SCHEMAS_ENTRY
        })
        : undefined
      const module = yield* Effect.fromResult(Decode.decodeRoot(root, entries, { archive, entry: "module.json" }))
      if (schemaTexts !== undefined) {
        module.opSchemas = yield* Effect.fromResult(Decode.decodeOpSchemas(schemaTexts, { archive, entry: Records.SCHEMAS_ENTRY }))
      }
      return module
    })
  )

/**
 * Reads a `.tgm` file.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readFile = (path: string): Effect.Effect<GraphModule, ArchiveError.ArchiveError> =>
  read({ _tag: "File", path })

/**
 * Reads a `.tgm` archive held in memory; `label` names it in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readBytes = (bytes: Uint8Array, label = "<bytes>"): Effect.Effect<GraphModule, ArchiveError.ArchiveError> =>
  read({ _tag: "Bytes", bytes, label })

// ===== Encoding =====

/**
 * The entries of the archive of a module: `format.json`, `module.json`, `op_schemas.json` when the module
 * holds operator schemas (`GraphModule.opSchemas`), then storages and engines. `module.json` is checked by
 * the reader's own rules first (its depth limit, its schema, the tensor and range rules): a module the reader
 * would refuse (a treespec that is not one, metadata of the wrong type, a negative stride, a view past its
 * storage, an empty target, a symbol's hint outside its range) is an `Unserializable` fault (`StorageTooSmall` for the view)
 * at its JSON path, and nothing is written.
 *
 * @since 0.1.0
 * @category encoding
 */
export const entries = (
  root: GraphModule,
  producer: Producer = trtxProducer,
  archive = "<bytes>"
): Result.Result<Array<ZipWriter.ZipWriteEntry>, ArchiveError.ArchiveError> => {
  const encoded = Encode.encodeRoot(root)
  const deep = Json.depthFault(encoded.root)
  if (deep !== undefined) {
    return Result.fail(ArchiveError.at({ archive, entry: "module.json", path: deep }, "Unserializable", `nested deeper than ${Json.MAX_DEPTH} levels`))
  }
  const checked = Json.encodeValue(Records.RootRecord, encoded.root)
  if (Result.isFailure(checked)) {
    const { path, detail } = checked.failure
    return Result.fail(ArchiveError.at({ archive, entry: "module.json", path }, "Unserializable", detail))
  }
  // The tensor and range rules the reader holds the records to (`Decode.stateFault`): a view past its storage
  // is the reader's `StorageTooSmall`, any other rule unserializable.
  const state = Decode.stateFault(encoded.root, encoded.entries)
  if (state !== undefined) {
    return Result.fail(ArchiveError.at(
      { archive, entry: "module.json", path: state.path, ...(state.node === undefined ? {} : { node: state.node }) },
      state.fault === "StorageTooSmall" ? "StorageTooSmall" : "Unserializable",
      state.detail
    ))
  }
  const out: Array<ZipWriter.ZipWriteEntry> = [
    {
      name: "format.json",
      data: Json.encode({ format: Records.FORMAT, version: Records.VERSION, producer }),
      compress: true
    },
    { name: "module.json", data: Json.encode(encoded.root), compress: true }
  ]
  if (root.opSchemas !== undefined) {
    out.push({ name: Records.SCHEMAS_ENTRY, data: Json.encode(Encode.opSchemas(root.opSchemas)), compress: true })
  }
  for (const [name, data] of encoded.entries) out.push({ name, data, compress: false })
  return Result.succeed(out)
}

/**
 * Writes a module to a `.tgm` file, atomically.
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeFile = (path: string, root: GraphModule, producer?: Producer): Effect.Effect<void, ArchiveError.ArchiveError> =>
  Effect.suspend(() => Effect.flatMap(Effect.fromResult(entries(root, producer, path)), (es) => ZipWriter.writeFile(path, es)))

/**
 * A module's `.tgm` archive as bytes.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toBytes = (root: GraphModule, producer?: Producer): Effect.Effect<Uint8Array, ArchiveError.ArchiveError> =>
  Effect.suspend(() => Effect.flatMap(Effect.fromResult(entries(root, producer)), ZipWriter.toBytes))
