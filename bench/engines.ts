/**
 * Large engines: `bench/chain.ts`'s 200-node module with a stand-in engine of 100 and 380 MiB, through the
 * shipped CLI, each command a cold process: `export`, `export --cross-compile`, `load` of the cross-compiled
 * `.pt2` and `inspect` of the plain one. Wall time, CPU time and peak memory (medians of the runs), the peak
 * also as a multiple of the engine. An engine's bytes go through whole copies (its base64 text, and for a
 * cross-compiled program a JSON string), so the peak is what to watch. Printed, never asserted
 * (docs/benchmarks.md, "Large engines").
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as CliBench from "./cli.ts"

/** The medians of one command on one engine size. */
export interface Row {
  readonly command: string
  readonly mib: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakRss: number
}

const COMMANDS: ReadonlyArray<readonly [string, (tgm: string, dir: string) => ReadonlyArray<string>]> = [
  ["export", (tgm, dir) => ["export", tgm, "-o", nodePath.join(dir, "plain.pt2"), "-q"]],
  ["export --cross-compile", (tgm, dir) => ["export", "--cross-compile", tgm, "-o", nodePath.join(dir, "cross.pt2"), "-q"]],
  ["load (cross .pt2)", (_, dir) => ["load", nodePath.join(dir, "cross.pt2"), "-o", nodePath.join(dir, "loaded.pt2"), "-q"]],
  ["inspect .pt2", (_, dir) => ["inspect", nodePath.join(dir, "plain.pt2")]]
]

/** Runs each command `runs` times on each engine size, in order (the later ones read what export wrote). */
export const run = (mibs: ReadonlyArray<number> = [100, 380], runs = 2): Array<Row> => {
  if (!fs.existsSync(CliBench.BIN)) throw new Error(`${CliBench.BIN} is missing: run npm run build first (npm run bench does)`)
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "trtx-engines-"))
  try {
    const rows: Array<Row> = []
    for (const mib of mibs) {
      const tgm = CliBench.measure(dir, nodePath.join(import.meta.dirname, "chain.ts"), [dir, "--engine-mib", String(mib)]).stdout.trim()
      const samples = new Map<string, Array<CliBench.Run>>()
      for (let r = 0; r < runs; r++) {
        for (const [name, args] of COMMANDS) {
          samples.set(name, [...(samples.get(name) ?? []), CliBench.measure(dir, CliBench.BIN, args(tgm, dir)).run])
          if (name === "load (cross .pt2)") fs.rmSync(nodePath.join(dir, "loaded.pt2"), { force: true })
        }
        fs.rmSync(nodePath.join(dir, "plain.pt2"), { force: true })
        fs.rmSync(nodePath.join(dir, "cross.pt2"), { force: true })
      }
      for (const [command, rs] of samples) {
        rows.push({
          command,
          mib,
          wallMs: CliBench.median(rs.map((x) => x.wallMs)),
          cpuMs: CliBench.median(rs.map((x) => x.cpuMs)),
          peakRss: CliBench.median(rs.map((x) => x.peakRss))
        })
      }
      fs.rmSync(tgm, { force: true })
    }
    return rows
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The table of `rows`. */
export const lines = (rows: ReadonlyArray<Row>): Array<string> => [
  `${"command".padEnd(24)}${"engine MiB".padStart(11)}${"wall ms".padStart(10)}${"cpu ms".padStart(9)}${"peak MiB".padStart(10)}${"× engine".padStart(10)}`,
  ...rows.map((r) =>
    `${r.command.padEnd(24)}${String(r.mib).padStart(11)}${r.wallMs.toFixed(0).padStart(10)}${r.cpuMs.toFixed(0).padStart(9)}` +
    `${(r.peakRss / 2 ** 20).toFixed(0).padStart(10)}${(r.peakRss / (r.mib * 2 ** 20)).toFixed(1).padStart(10)}`
  )
]

if (import.meta.main) {
  // Alone: `node bench/engines.ts [runs] [MiB...]`.
  const [runs, ...mibs] = process.argv.slice(2)
  console.log(lines(run(mibs.length > 0 ? mibs.map(Number) : undefined, runs === undefined ? undefined : Number(runs))).join("\n"))
}
