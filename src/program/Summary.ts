/**
 * What `trtx inspect` shows, as data: the size of a graph by op and target, its TensorRT engines, its
 * signature and its weight bytes, for a compiled module (`.tgm`) or an exported program (`.pt2`). Plain
 * JSON values, so that `--json` is this record as it is; the CLI renders it.
 *
 * Engines are found where each form holds them: the TensorRT modules of a compiled module; the engine
 * objects of a program's constants; the records packed base64 into `no_op_placeholder_for_execute_engine`
 * nodes of a cross-compiled program.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { Graph } from "../graph/Graph.ts"
import type { Val } from "../graph/Meta.ts"
import * as Module from "../graph/Module.ts"
import type { Tensor } from "../graph/Tensor.ts"
import * as EngineRecord from "./EngineRecord.ts"
import type { ExportedProgram } from "./ExportedProgram.ts"
import { NO_OP_PLACEHOLDER } from "./Targets.ts"

// ===== Models =====

/**
 * One TensorRT engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineSummary {
  /** Where it is held: the module's path, the constant's name, or the no-op node's name. */
  readonly where: string
  readonly name: string
  readonly abi: string
  readonly device: string
  readonly bytes: number
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
}

/**
 * One input or output of a program's signature.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignatureEntry {
  readonly kind: string
  readonly name: string
  readonly target: string | null
  readonly dtype: string | null
  readonly shape: ReadonlyArray<number | string> | null
}

/**
 * The summary of a compiled module or of an exported program. Keys are sorted where the source has no order
 * of its own, so that the same input always gives the same JSON.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly format: "tgm" | "pt2"
  readonly nodes: number
  readonly byOp: Readonly<Record<string, number>>
  readonly byTarget: Readonly<Record<string, number>>
  readonly engines: ReadonlyArray<EngineSummary>
  /** A program's signature; a compiled module has none (`null`). */
  readonly inputs: ReadonlyArray<SignatureEntry> | null
  readonly outputs: ReadonlyArray<SignatureEntry> | null
  readonly weights: number
  readonly weightBytes: number
  /** Records that could not be decoded, with why; the rest of the summary stands. */
  readonly problems: ReadonlyArray<string>
}

// ===== Helpers =====

const sorted = (counts: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

const count = (graphs: ReadonlyArray<Graph>) => {
  const byOp = new Map<string, number>()
  const byTarget = new Map<string, number>()
  let nodes = 0
  for (const g of graphs) {
    for (const n of g.nodes()) {
      nodes++
      byOp.set(n.op, (byOp.get(n.op) ?? 0) + 1)
      if (n.op === "call_function" || n.op === "call_module") {
        const t = String(n.target)
        byTarget.set(t, (byTarget.get(t) ?? 0) + 1)
      }
    }
  }
  return { nodes, byOp: sorted(byOp), byTarget: sorted(byTarget) }
}

const engine = (where: string, record: EngineRecord.EngineRecord): EngineSummary => ({
  where,
  name: record.name,
  abi: record.abi,
  device: `${record.device.deviceName} (gpu ${record.device.gpuId}, sm ${record.device.major}.${record.device.minor})`,
  bytes: record.engine.byteLength,
  inputs: record.inputBindingNames,
  outputs: record.outputBindingNames
})

// Distinct storages count once: tied weights share their bytes.
const weightBytes = (tensors: Iterable<Tensor>): number => {
  let total = 0
  const seen = new Set<unknown>()
  for (const t of tensors) {
    if (seen.has(t.storage)) continue
    seen.add(t.storage)
    total += t.storage.bytes.byteLength
  }
  return total
}

const tensorOf = (val: Val | undefined) =>
  val !== undefined && val !== null && !Array.isArray(val) && typeof val === "object" && "tensor" in val ? val.tensor : undefined

/**
 * A byte count for people, in the largest binary unit that keeps a number of at least 1: `512 B`, `1.1 KiB`,
 * `3.0 MiB` (the CLI's tables and the report alike).
 *
 * @since 0.1.0
 * @category getters
 */
export const bytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`
}

// ===== Summaries =====

/**
 * The summary of a compiled module: every graph of its tree, its TensorRT modules' records, its state dict.
 *
 * @since 0.1.0
 * @category getters
 */
export const ofModule = (root: Module.GraphModule): Summary => {
  const graphs: Array<Graph> = []
  const engines: Array<EngineSummary> = []
  const problems: Array<string> = []
  for (const [path, mod] of Module.namedModules(root)) {
    if (mod instanceof Module.GraphModule) graphs.push(mod.graph)
    else if (mod instanceof Module.TrtModule) {
      const record = EngineRecord.fromTrtModule(mod)
      if (Result.isSuccess(record)) engines.push(engine(path, record.success))
      else problems.push(`${path}: ${record.failure.message}`)
    }
  }
  const stateDict = Module.stateDict(root)
  return {
    format: "tgm",
    ...count(graphs),
    engines,
    inputs: null,
    outputs: null,
    weights: stateDict.size,
    weightBytes: weightBytes(stateDict.values()),
    problems
  }
}

/**
 * The summary of an exported program.
 *
 * @since 0.1.0
 * @category getters
 */
export const ofProgram = (ep: ExportedProgram): Summary => {
  const g = ep.graphModule.graph
  const engines: Array<EngineSummary> = []
  const problems: Array<string> = []
  for (const [fqn, c] of ep.constants) {
    if (c._tag !== "ScriptObject" || c.classFqn !== EngineRecord.ENGINE_CLASS_FQN) continue
    const record = EngineRecord.decodeRaw(c.state, fqn)
    if (Result.isSuccess(record)) engines.push(engine(fqn, record.success))
    else problems.push(record.failure.message)
  }
  for (const n of g.findNodes("call_function", NO_OP_PLACEHOLDER)) {
    const record = EngineRecord.decodeBase64(n.args.slice(1), n.name)
    if (Result.isSuccess(record)) engines.push(engine(n.name, record.success))
    else problems.push(record.failure.message)
  }
  // The values of the signature's names only: placeholders and what the output returns, not every node.
  const named = new Set<string>()
  for (const s of [...ep.graphSignature.inputSpecs, ...ep.graphSignature.outputSpecs]) {
    if (s.arg._tag !== "ConstantArgument") named.add(s.arg.name)
  }
  const metaOf = new Map<string, ReturnType<typeof tensorOf>>()
  for (const n of g.nodes()) if (named.has(n.name)) metaOf.set(n.name, tensorOf(n.meta.val))
  const entry = (kind: string, name: string, target: string | null): SignatureEntry => {
    const t = metaOf.get(name)
    return { kind, name, target, dtype: t?.dtype ?? null, shape: t?.shape ?? null }
  }
  return {
    format: "pt2",
    ...count([g]),
    engines,
    inputs: ep.graphSignature.inputSpecs.map((s) =>
      entry(s._tag, s.arg._tag === "ConstantArgument" ? "" : s.arg.name, "target" in s ? s.target : null)
    ),
    outputs: ep.graphSignature.outputSpecs.map((s) =>
      entry(s._tag, s.arg._tag === "ConstantArgument" ? "" : s.arg.name, "target" in s ? s.target : null)
    ),
    weights: ep.stateDict.size,
    weightBytes: weightBytes(ep.stateDict.values()),
    problems
  }
}
