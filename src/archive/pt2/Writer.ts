/**
 * Writing `.pt2` archives as `torch.export.save` lays them out (`torch/export/pt2_archive/_package.py`,
 * `shared/spec/pt2-format.md` §1 and §5), so that torch 2.11's `torch.export.load` loads and runs them.
 *
 * Under one root folder (the file's name without its extension; `archive` for bytes), in torch's order:
 * - `data/weights/weight_<k>`: one file per storage (and dtype and device) of the parameters and persistent
 *   buffers, holding the whole storage's bytes as they are (never joined or copied; up to its last whole
 *   element of the file's dtype), then `data/weights/model_weights_config.json`. Every tensor keeps the rules
 *   the reader holds it to (`Tensor.check`, `Tensor.checkInBounds`); the signature and the ranges too
 *   (`Serialize`).
 * - `data/constants/tensor_<k>` for constant tensors and non-persistent buffers, `custom_obj_<i>` for
 *   custom objects (a torchbind pickle inside its own zip; a TensorRT engine's record with the engine
 *   base64 at ENGINE_IDX, as `__getstate__` gives it), then `data/constants/model_constants_config.json`.
 * - `models/model.json` (`Serialize.ts`), `data/sample_inputs/model.pt` (empty: no example inputs),
 *   `extra/<name>` for extra files, `archive_format` (`pt2`), `archive_version` (`0`), `.data/version`
 *   (`6\n`) and `byteorder` (`little`).
 *
 * Entries are stored, not compressed. The same program always gives the same bytes. A file is written
 * atomically (a temporary file renamed into place). `.data/serialization_id` (optional, and not portably
 * reproducible) and torch's 64-byte alignment padding (not needed by the loader) are left out.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as nodePath from "node:path"
import * as ArchiveError from "../ArchiveError.ts"
import * as Json from "../Json.ts"
import * as ZipWriter from "../zip/ZipWriter.ts"
import * as EngineRecord from "../../program/EngineRecord.ts"
import type { ExportedProgram } from "../../program/ExportedProgram.ts"
import * as Meta from "../../graph/Meta.ts"
import * as Tensor from "../../graph/Tensor.ts"
import * as Pickle from "./Pickle.ts"
import type * as Records from "./Records.ts"
import * as Serialize from "./Serialize.ts"

// ===== Models =====

/**
 * What the writer may add besides the program (whose operator schemas travel with it:
 * `ExportedProgram.opSchemas`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `extra/<name>` entries, as `torch.export.save(..., extra_files=...)` writes them. */
  readonly extraFiles?: Readonly<Record<string, string>>
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

// One file per storage, dtype and device, in order of first use (torch's loader reads a file as one flat
// tensor of its first entry's dtype and device); every tensor's payload entry points at its file. Each tensor
// keeps the tensor rules the reader holds it to (`Tensor.check`, `Tensor.checkInBounds`).
const payloads = (
  tensors: ReadonlyArray<readonly [string, Tensor.Tensor, boolean]>,
  prefix: string,
  location: ArchiveError.Location
): Result.Result<
  { readonly files: Array<readonly [string, Uint8Array]>; readonly config: Record<string, Records.PayloadMeta> },
  ArchiveError.ArchiveError
> => {
  const fileOf = new Map<Tensor.Storage, Map<string, string>>()
  const files: Array<readonly [string, Uint8Array]> = []
  const config: Record<string, Records.PayloadMeta> = {}
  for (const [fqn, t, isParam] of tensors) {
    const at = { ...location, path: `${Json.child("$.config", fqn)}.tensor_meta` }
    // The tensor rules first (`Serialize.tensorMeta` locates a broken one at its field), then the bounds.
    const meta = Serialize.tensorMeta(Meta.tensorMeta(t), fqn, at)
    if (Result.isFailure(meta)) return Result.fail(meta.failure)
    // The bytes of the file it goes to: its storage's whole elements of its dtype (see below).
    const bytes = t.storage.bytes
    const whole = bytes.subarray(0, bytes.byteLength - (bytes.byteLength % Tensor.itemSize(t.dtype)!))
    const outside = Tensor.checkInBounds(t, whole.byteLength)
    if (outside !== undefined) return Result.fail(ArchiveError.at(at, "StorageTooSmall", `${fqn}: ${outside.detail}`))
    let byKind = fileOf.get(t.storage)
    if (byKind === undefined) fileOf.set(t.storage, (byKind = new Map()))
    const kind = `${t.dtype} ${t.device}`
    let file = byKind.get(kind)
    if (file === undefined) {
      file = `${prefix}${files.length}`
      byKind.set(kind, file)
      // torch's loader reads a file as whole elements of its dtype (`frombuffer` refuses a trailing part):
      // the storage's bytes past its last whole element, which no view of this dtype reaches, are left out.
      files.push([file, whole])
    }
    Json.put(config, fqn, { path_name: file, is_param: isParam, use_pickle: false, tensor_meta: meta.success })
  }
  return Result.succeed({ files, config })
}

// The pickled state of a custom object: strings; an engine's record in its base64 (`__getstate__`) form, the
// engine's text as its bytes.
const customState = (
  obj: Tensor.ScriptObject,
  target: string,
  location: ArchiveError.Location
): Effect.Effect<ReadonlyArray<string | Uint8Array>, ArchiveError.ArchiveError> => {
  if (obj.classFqn === EngineRecord.ENGINE_CLASS_FQN) {
    const decoded = EngineRecord.decodeRaw(obj.state, target)
    if (Result.isFailure(decoded)) {
      return Effect.fail(ArchiveError.at(location, "Unserializable", decoded.failure.message))
    }
    const encoded = EngineRecord.encodeBase64Text(decoded.success, target)
    return Result.isSuccess(encoded)
      ? Effect.succeed(encoded.success)
      : Effect.fail(ArchiveError.at(location, "Unserializable", encoded.failure.message))
  }
  if (obj.state.every((s): s is string => typeof s === "string")) return Effect.succeed(obj.state)
  return Effect.fail(ArchiveError.at(location, "Unserializable", `custom object ${target} holds bytes outside an engine record`))
}

const fromResult = <A>(r: Result.Result<A, ArchiveError.ArchiveError>): Effect.Effect<A, ArchiveError.ArchiveError> =>
  Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(r.failure)

// ===== Encoding =====

/**
 * The entries of a program's archive, under `root`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const entries = (
  ep: ExportedProgram,
  options: Options | undefined,
  root: string,
  archive: string
): Effect.Effect<Array<ZipWriter.ZipWriteEntry>, ArchiveError.ArchiveError> =>
  Effect.gen(function*() {
    const out: Array<ZipWriter.ZipWriteEntry> = []
    const put = (name: string, data: Uint8Array | ZipWriter.Pieces) => out.push({ name: `${root}/${name}`, data, compress: false })

    const specs = ep.graphSignature.inputSpecs
    const params = new Set(specs.flatMap((s) => (s._tag === "Parameter" ? [s.target] : [])))
    const weightsConfig = "data/weights/model_weights_config.json"
    const weights = yield* fromResult(payloads(
      [...ep.stateDict].map(([fqn, t]) => [fqn, t, params.has(fqn)] as const),
      "weight_",
      { archive, entry: `${root}/${weightsConfig}` }
    ))
    for (const [file, bytes] of weights.files) put(`data/weights/${file}`, bytes)
    put(weightsConfig, Json.encode({ config: weights.config }))

    const constantTensors: Array<readonly [string, Tensor.Tensor, boolean]> = []
    const customObjects: Array<readonly [string, Tensor.ScriptObject]> = []
    for (const [fqn, c] of ep.constants) {
      if (c._tag === "Tensor") constantTensors.push([fqn, c, false])
      else customObjects.push([fqn, c])
    }
    const constantsConfig = "data/constants/model_constants_config.json"
    const constants = yield* fromResult(payloads(constantTensors, "tensor_", { archive, entry: `${root}/${constantsConfig}` }))
    for (const [file, bytes] of constants.files) put(`data/constants/${file}`, bytes)
    for (let i = 0; i < customObjects.length; i++) {
      const [fqn, obj] = customObjects[i]!
      const location = { archive, entry: `${root}/data/constants/custom_obj_${i}` }
      const state = yield* customState(obj, fqn, location)
      put(`data/constants/custom_obj_${i}`, yield* Pickle.customObjectPieces(obj.classFqn, state))
      Json.put(constants.config, fqn, { path_name: `custom_obj_${i}`, is_param: false, use_pickle: true, tensor_meta: null })
    }
    put(constantsConfig, Json.encode({ config: constants.config }))

    // The program after its payloads, in the order the reader reads them, so that a program breaking two
    // rules is refused for the one its archive would be refused for.
    const records = Serialize.serialize(ep, { archive })
    if (Result.isFailure(records)) return yield* Effect.fail(records.failure)
    const model = yield* fromResult(Serialize.encode(records.success, { archive }))
    put("models/model.json", Json.encode(model))
    put("data/sample_inputs/model.pt", new Uint8Array(0))
    for (const [name, content] of Object.entries(options?.extraFiles ?? {})) put(`extra/${name}`, text(content))
    put("archive_format", text("pt2"))
    put("archive_version", text("0"))
    put(".data/version", text("6\n"))
    put("byteorder", text("little"))
    return out
  })

/**
 * The root folder torch uses for a file: its name without the last extension.
 *
 * @since 0.1.0
 * @category getters
 */
export const rootFor = (file: string): string => {
  const base = nodePath.basename(file)
  const dot = base.lastIndexOf(".")
  return dot > 0 ? base.slice(0, dot) : base
}

/**
 * Writes a program to a `.pt2` file, atomically.
 *
 * @since 0.1.0
 * @category encoding
 */
export const writeFile = (path: string, ep: ExportedProgram, options?: Options): Effect.Effect<void, ArchiveError.ArchiveError> =>
  Effect.flatMap(entries(ep, options, rootFor(path), path), (es) => ZipWriter.writeFile(path, es))

/**
 * A program's `.pt2` archive as bytes (root folder `archive`, as torch names it for a buffer).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toBytes = (ep: ExportedProgram, options?: Options): Effect.Effect<Uint8Array, ArchiveError.ArchiveError> =>
  Effect.flatMap(entries(ep, options, "archive", "<bytes>"), ZipWriter.toBytes)
