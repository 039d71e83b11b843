/**
 * The operator schemas trtx knows without being told: TensorRT's own (`OpSchema.builtin`), and every operator
 * that torch registers when it is imported (aten, prims, quantized, the ops Python code registers at import),
 * as torch 2.11 prints them.
 *
 * The torch table is data (`schemas/torch.json`, written on a machine with torch by `python/op_schemas.py`:
 * the torch version it came from is in the file; its schemas sorted). It is read on the first lookup, and a
 * schema is parsed only when its operator is asked for: a program calls a few dozen of the table's thousands of
 * operators.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as OpSchema from "../graph/OpSchema.ts"

// ===== Models =====

/**
 * The table's file: the schemas and where they came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface TorchTable {
  /** `torch.__version__` of the torch that printed them. */
  readonly torch: string
  /** Schema strings (`str(op._schema)`), sorted. */
  readonly schemas: ReadonlyArray<string>
}

const FILE = new URL("./schemas/torch.json", import.meta.url)

// ===== Getters =====

let table: TorchTable | undefined
const parsed = new Map<string, OpSchema.OpSchema>()

/**
 * The torch table, read on first use.
 *
 * @since 0.1.0
 * @category getters
 */
export const torchTable = (): TorchTable => (table ??= JSON.parse(fs.readFileSync(FILE, "utf8")) as TorchTable)

// The table is sorted, so a schema is found by binary search on its head, without a map of the thousands of
// heads built first (5 ms of every command that writes a program). `torch.ops.aten.add.Tensor` is printed
// `aten::add.Tensor(...)`, and `torch.ops.aten.relu.default` `aten::relu(...)`.
const headOf = (target: string): string | undefined => {
  const parts = target.split(".")
  if (parts.length !== 5 || parts[0] !== "torch" || parts[1] !== "ops") return undefined
  const [, , ns, name, overload] = parts as [string, string, string, string, string]
  return overload === "default" ? `${ns}::${name}(` : `${ns}::${name}.${overload}(`
}

const textOf = (target: string): string | undefined => {
  const head = headOf(target)
  if (head === undefined) return undefined
  const schemas = torchTable().schemas
  let lo = 0
  let hi = schemas.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (schemas[mid]! < head) lo = mid + 1
    else hi = mid
  }
  return lo < schemas.length && schemas[lo]!.startsWith(head) ? schemas[lo] : undefined
}

/**
 * The schema of an operator by its target (`torch.ops.aten.add.Tensor`): TensorRT's built-in ones first,
 * then torch's table; undefined for an operator neither knows (a user's custom operator).
 *
 * @since 0.1.0
 * @category getters
 */
export const get = (target: string): OpSchema.OpSchema | undefined => {
  const trt = OpSchema.builtin.get(target)
  if (trt !== undefined) return trt
  const done = parsed.get(target)
  if (done !== undefined) return done
  const text = textOf(target)
  if (text === undefined) return undefined
  // The table is torch's own printing, checked by a test to parse in full: a failure here is a bug.
  const schema = OpSchema.parseUnsafe(text)
  parsed.set(target, schema)
  return schema
}

/**
 * Whether a `call_function` target is an operator that needs a schema to be written: `torch.ops.<ns>.<op>.
 * <overload>`, not a higher-order operator (`torch.ops.higher_order.*`, written without one) and not a
 * Python function (`_operator.getitem`, `_operator.mul`, `math.trunc`, `torch.sym_max`).
 *
 * @since 0.1.0
 * @category getters
 */
export const needsSchema = (target: string): boolean =>
  target.startsWith("torch.ops.") && !target.startsWith("torch.ops.higher_order.") && dots(target) === 4

// The dots of a target, counted without splitting it: this runs for every node read or written.
const dots = (s: string): number => {
  let n = 0
  for (let i = s.indexOf("."); i !== -1; i = s.indexOf(".", i + 1)) n++
  return n
}
