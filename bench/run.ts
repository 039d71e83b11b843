/**
 * `npm run bench`: runs every benchmark and prints its table. Timings are measured here, never asserted in
 * tests; the exit code says whether the scaling targets were met.
 */
import * as os from "node:os"
import * as GraphBench from "./graph.ts"

const cpu = os.cpus()[0]?.model ?? "unknown CPU"
console.log(`trtx benchmarks on ${cpu} (${os.cpus().length} cores), Node ${process.version}\n`)

let ok = true

console.log("Graph IR (median of repeated runs)")
const rows = GraphBench.run()
console.log(`${"operation".padEnd(20)}${"nodes".padStart(10)}${"ms".padStart(12)}${"ms/node".padStart(14)}`)
for (const r of rows) {
  console.log(`${r.operation.padEnd(20)}${String(r.nodes).padStart(10)}${r.ms.toFixed(2).padStart(12)}${(r.ms / r.nodes).toExponential(3).padStart(14)}`)
}
console.log()
for (const op of new Set(rows.map((r) => r.operation))) {
  const [small, large] = rows.filter((r) => r.operation === op)
  if (small === undefined || large === undefined) continue
  const ratio = large.ms / small.ms
  const pass = ratio <= 11
  ok &&= pass
  console.log(`${op.padEnd(20)} t(${large.nodes})/t(${small.nodes}) = ${ratio.toFixed(2)}  ${pass ? "ok (<= 11)" : "FAIL (> 11)"}`)
}

process.exitCode = ok ? 0 : 1
