/**
 * Node metadata as torch.export's serializer writes it into `.pt2` JSON (`serialize_metadata` in
 * `torch/_export/serde/serialize.py`, spec §2.5): a record of strings, holding only the keys whose values
 * are truthy; and read back as `deserialize_metadata` reads it.
 *
 * | key               | encoding                                            | reading                                  |
 * | ----------------- | --------------------------------------------------- | ---------------------------------------- |
 * | `stack_trace`     | the string                                          | the string                               |
 * | `nn_module_stack` | `key,path,type` for each entry, joined with `;`     | split on `;`, then on top-level commas   |
 * | `source_fn_stack` | `name,target` for each entry, joined with `;`       | split on `;`, then on `,`                |
 * | `torch_fn`        | the pair joined with `;`                            | split on `;`                             |
 * | `custom`, `from_node` | Python's `json.dumps` of the value              | JSON                                     |
 *
 * The encoding has no escapes, so a name holding a `;` (or a comma where the reader splits on one) cannot be
 * written: {@link serialize} refuses it rather than write what {@link deserialize} would read as another
 * value (torch writes it, and cannot load it back: `docs/divergences.md`). As torch's reader does, an empty
 * string reads as an absent key.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as Json from "../Json.ts"
import * as Meta from "../../graph/Meta.ts"

// ===== Python's json.dumps =====

const pyString = (s: string): string => {
  let out = "\""
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ch = s[i]!
    if (ch === "\"") out += "\\\""
    else if (ch === "\\") out += "\\\\"
    else if (ch === "\n") out += "\\n"
    else if (ch === "\r") out += "\\r"
    else if (ch === "\t") out += "\\t"
    else if (ch === "\b") out += "\\b"
    else if (ch === "\f") out += "\\f"
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`
    else out += ch
  }
  return out + "\""
}

// Python's float repr: the shortest round trip, fixed notation for exponents in [-4, 16).
const pyFloat = (x: number): string => {
  if (Number.isNaN(x)) return "NaN"
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity"
  const [mantissa, expText] = x.toExponential().split("e") as [string, string]
  const exp = Number(expText)
  if (exp >= -4 && exp < 16) {
    const s = String(x)
    return s.includes(".") || s.includes("e") ? s : `${s}.0`
  }
  return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`
}

/**
 * Python's `json.dumps(value)` with its defaults (`", "` and `": "` separators, `ensure_ascii`). A JSON value
 * carries no int/float distinction: integral numbers are written as ints, the others as Python float reprs.
 *
 * @since 0.1.0
 * @category encoding
 */
export const pyJsonDumps = (value: unknown): string => {
  if (value === null || value === undefined) return "null"
  if (value === true) return "true"
  if (value === false) return "false"
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyFloat(value)
  if (typeof value === "string") return pyString(value)
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`
  return `{${Object.entries(value as object).map(([k, v]) => `${pyString(k)}: ${pyJsonDumps(v)}`).join(", ")}}`
}

// ===== Metadata =====

const truthy = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== "" && v !== false && v !== 0 &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0)

// torch's separator between the entries of a stack (`ST_DELIMITER`).
const ST_DELIMITER = ";"

// Splits `a,b[c,d],e` on top-level commas (commas inside brackets are kept), as torch's reader
// (`metadata_split`) does for an `nn_module_stack` entry.
const splitTopLevel = (s: string): Array<string> => {
  const out: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === "[" || c === "(") depth++
    else if (c === "]" || c === ")") depth--
    else if (c === "," && depth === 0) {
      out.push(s.slice(start, i))
      start = i + 1
    }
  }
  out.push(s.slice(start))
  return out
}

const quote = (s: string): string => JSON.stringify(s)

/**
 * A node's metadata as the serializer writes it, or why it cannot be written: an entry whose names would
 * not split back into the same entry when read.
 *
 * @since 0.1.0
 * @category encoding
 */
export const serialize = (meta: Meta.Meta): Result.Result<Record<string, string>, string> => {
  const out: Record<string, string> = {}
  if (meta.stack_trace !== undefined && truthy(meta.stack_trace)) out["stack_trace"] = meta.stack_trace
  if (meta.nn_module_stack !== undefined && truthy(meta.nn_module_stack)) {
    const entries: Array<string> = []
    for (const [key, [path, type]] of Object.entries(meta.nn_module_stack)) {
      const parts = [key, path, type]
      const entry = parts.join(",")
      const semicolon = parts.find((p) => p.includes(ST_DELIMITER))
      if (semicolon !== undefined) {
        return Result.fail(`nn_module_stack entry ${quote(key)}: ${quote(semicolon)} holds ";", which separates the entries when read`)
      }
      const read = splitTopLevel(entry)
      if (read.length !== 3 || read.some((p, i) => p !== parts[i])) {
        return Result.fail(
          `nn_module_stack entry ${quote(key)}: its commas and brackets make ${quote(entry)} read back as ` +
            `${read.length === 3 ? read.map(quote).join(", ") : `${read.length} parts`}, not as key, path and type`
        )
      }
      entries.push(entry)
    }
    out["nn_module_stack"] = entries.join(ST_DELIMITER)
  }
  if (meta.source_fn_stack !== undefined && truthy(meta.source_fn_stack)) {
    const entries: Array<string> = []
    for (const [i, [name, target]] of meta.source_fn_stack.entries()) {
      const bad = [name, target].find((p) => p.includes(ST_DELIMITER) || p.includes(","))
      if (bad !== undefined) {
        return Result.fail(`source_fn_stack[${i}]: ${quote(bad)} holds ";" or ",", which separate the entries and their parts when read`)
      }
      entries.push(`${name},${target}`)
    }
    out["source_fn_stack"] = entries.join(ST_DELIMITER)
  }
  if (meta.torch_fn !== undefined) {
    const bad = meta.torch_fn.find((p) => p.includes(ST_DELIMITER))
    if (bad !== undefined) return Result.fail(`torch_fn: ${quote(bad)} holds ";", which separates its two parts when read`)
    out["torch_fn"] = meta.torch_fn.join(ST_DELIMITER)
  }
  for (const key of ["custom", "from_node"] as const) {
    const value = meta[key]
    if (!truthy(value)) continue
    // The reader refuses JSON nested deeper than its limit; the writer does not write it.
    const deep = Json.depthFault(value)
    if (deep !== undefined) return Result.fail(`${key}: nested deeper than ${Json.MAX_DEPTH} levels at ${deep}`)
    out[key] = pyJsonDumps(value)
  }
  return Result.succeed(out)
}

/**
 * Where and why a node's metadata strings do not read: the key, a JSON path inside its text where there is
 * one, and the fault.
 *
 * @since 0.1.0
 * @category models
 */
export interface MetadataFault {
  readonly key: string
  readonly detail: string
}

/**
 * A node's metadata from its serialized strings (the inverse of {@link serialize}), typed as `Meta` types it.
 *
 * @since 0.1.0
 * @category decoding
 */
export const deserialize = (m: { readonly [key: string]: string }): Result.Result<Meta.Meta, MetadataFault> => {
  const meta: Meta.Meta = {}
  // torch reads each key with `if s := metadata.get(key)`: an empty string is no value.
  const text = (key: string): string | undefined => {
    const s = Json.get(m, key)
    return s === undefined || s === "" ? undefined : s
  }
  const stackTrace = text("stack_trace")
  if (stackTrace !== undefined) meta.stack_trace = stackTrace
  const nnModuleStack = text("nn_module_stack")
  if (nnModuleStack !== undefined) {
    const stack: Record<string, readonly [string, string]> = {}
    for (const entry of nnModuleStack.split(ST_DELIMITER)) {
      const parts = splitTopLevel(entry)
      if (parts.length !== 3) {
        return Result.fail({ key: "nn_module_stack", detail: `entry ${quote(entry)} has ${parts.length} parts, not key, path and type` })
      }
      // An own data property whatever the key (`__proto__` included), as Python's dict keeps it.
      Object.defineProperty(stack, parts[0]!, { value: [parts[1]!, parts[2]!], enumerable: true, writable: true, configurable: true })
    }
    meta.nn_module_stack = stack
  }
  const sourceFnStack = text("source_fn_stack")
  if (sourceFnStack !== undefined) {
    const stack: Array<readonly [string, string]> = []
    for (const entry of sourceFnStack.split(ST_DELIMITER)) {
      const parts = entry.split(",")
      if (parts.length !== 2) {
        return Result.fail({ key: "source_fn_stack", detail: `entry ${quote(entry)} has ${parts.length} parts, not name and target` })
      }
      stack.push([parts[0]!, parts[1]!])
    }
    meta.source_fn_stack = stack
  }
  const torchFn = text("torch_fn")
  if (torchFn !== undefined) {
    const parts = torchFn.split(ST_DELIMITER)
    if (parts.length !== 2) return Result.fail({ key: "torch_fn", detail: `${parts.length} parts, not a name and a function` })
    meta.torch_fn = [parts[0]!, parts[1]!]
  }
  for (const key of ["custom", "from_node"] as const) {
    const s = text(key)
    if (s === undefined) continue
    const json = Json.parseText(s)
    if (Result.isFailure(json)) return Result.fail({ key, detail: `JSON text, but ${Json.textFaultMessage(json.failure)}` })
    const value = Json.decodeValue(key === "custom" ? Meta.JsonValue : Meta.FromNode, json.success)
    if (Result.isFailure(value)) return Result.fail({ key, detail: `at ${value.failure.path} of its JSON: ${value.failure.detail}` })
    meta[key] = value.success as never
  }
  return Result.succeed(meta)
}
