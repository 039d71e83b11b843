/**
 * Node metadata as torch.export's serializer writes it into `.pt2` JSON (`serialize_metadata` in
 * `torch/_export/serde/serialize.py`, spec §2.5): a record of strings, holding only the keys whose values
 * are truthy.
 *
 * | key               | encoding                                            |
 * | ----------------- | --------------------------------------------------- |
 * | `stack_trace`     | the string                                          |
 * | `nn_module_stack` | `key,path,type` for each entry, joined with `;`     |
 * | `source_fn_stack` | `name,target` for each entry, joined with `;`       |
 * | `torch_fn`        | the pair joined with `;`                            |
 * | `custom`, `from_node` | Python's `json.dumps` of the value              |
 *
 * @since 0.1.0
 */
import type { Meta } from "../../graph/Meta.ts"

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

/**
 * A node's metadata as the serializer writes it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const serialize = (meta: Meta): Record<string, string> => {
  const out: Record<string, string> = {}
  if (truthy(meta.stack_trace)) out["stack_trace"] = meta.stack_trace!
  if (truthy(meta.nn_module_stack)) {
    out["nn_module_stack"] = Object.entries(meta.nn_module_stack as Record<string, [string, string]>)
      .map(([key, [path, type]]) => `${key},${path},${type}`)
      .join(";")
  }
  if (truthy(meta.source_fn_stack)) {
    out["source_fn_stack"] = (meta.source_fn_stack as ReadonlyArray<[string, string]>).map(([n, t]) => `${n},${t}`).join(";")
  }
  if (truthy(meta.torch_fn)) out["torch_fn"] = (meta.torch_fn as ReadonlyArray<string>).join(";")
  if (truthy(meta.custom)) out["custom"] = pyJsonDumps(meta.custom)
  if (truthy(meta.from_node)) out["from_node"] = pyJsonDumps(meta.from_node)
  return out
}
