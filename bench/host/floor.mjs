// The JSON floor of bench/host/run.py: JSON.parse / JSON.stringify of the same JSON bytes the CLI reads and
// writes, in one process of the node that runs the bundles. Usage: node floor.mjs REPEATS NAME=PATH [NAME=PATH ...]; a file whose NAME starts with
// "model" is also stringified (after parsing). Prints one JSON object: {name: {bytes, parse_ms: [...],
// stringify_ms: [...]}}. Reading the file into a string is not timed.
import { readFileSync } from "node:fs"

const [repeats, ...files] = process.argv.slice(2)
const n = Number(repeats)
const out = {}
for (const spec of files) {
  const i = spec.indexOf("=")
  const name = spec.slice(0, i)
  const text = readFileSync(spec.slice(i + 1), "utf8")
  const parse = []
  const stringify = []
  let value
  for (let r = 0; r < n; r++) {
    const t0 = performance.now()
    value = JSON.parse(text)
    parse.push(performance.now() - t0)
  }
  if (name.startsWith("model")) {
    for (let r = 0; r < n; r++) {
      const t0 = performance.now()
      JSON.stringify(value)
      stringify.push(performance.now() - t0)
    }
  }
  out[name] = { bytes: Buffer.byteLength(text), parse_ms: parse, stringify_ms: stringify }
  value = undefined
}
console.log(JSON.stringify(out))
