/**
 * Scale benchmark of whole processes: a compiled module that is one long chain of aten ops (`chain.ts`) at
 * 10k, 50k and 100k nodes, through the CLI as a user runs it, each run a cold process of the shipped CLI
 * (`node dist/cli/trtx.js ...`, the bundle `npm run build` makes; `npm run bench` builds it first), and
 * through each step of the work timed inside a fresh process.
 *
 * - **Commands:** `inspect` of the `.tgm` (read), `export` (read, export, write), `inspect` of the `.pt2`
 *   (read), `load` of the cross-compiled `.pt2` (read, load, write) and `report` of the `.pt2`. Each figure
 *   is the median of the runs: wall time, CPU time (user + system) and peak resident memory, read by the
 *   process itself when it exits (`process.resourceUsage()`, through `--import`). The time per node is taken
 *   net of a process that only starts the CLI (`--version`), so that start-up does not flatter the small size.
 * - **Steps:** one process per run and size reads the `.tgm`, exports it, writes the `.pt2`, reads it back,
 *   makes its summary (`inspect`) and its HTML page (`report`), timing each step; then reads the `.tgm`,
 *   writes the `.pt2` and reads it again, warm (best of three), and times `JSON.parse` and `JSON.stringify` of
 *   the same JSON (the floor the reads and writes are held to).
 *
 * The ratio printed is the cost per node at a size over the cost per node at the smallest: 1 is linear.
 * Timings are printed, never asserted (docs/benchmarks.md).
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as Reader from "../src/archive/pt2/Reader.ts"
import * as Writer from "../src/archive/pt2/Writer.ts"
import * as Tgm from "../src/archive/tgm/Tgm.ts"
import * as Zip from "../src/archive/zip/Zip.ts"
import * as Render from "../src/cli/Render.ts"
import * as Exporter from "../src/passes/Exporter.ts"
import * as Summary from "../src/program/Summary.ts"
import * as Report from "../src/report/Report.ts"
import * as Chain from "./chain.ts"

const ROOT = nodePath.join(import.meta.dirname, "..")
/** The shipped CLI, as `npm run build` makes it. */
export const BIN = nodePath.join(ROOT, "dist/cli/trtx.js")
const SELF = nodePath.join(import.meta.dirname, "cli.ts")

// Written by every measured process as it exits: its own resource usage, and its own peak resident memory.
// `maxRSS` alone will not do: Linux carries a parent's peak across fork and exec, so a child of a bench that
// has itself held a gigabyte would report that gigabyte. `VmHWM` is the peak of the process's own memory.
const HOOK = "data:text/javascript," + encodeURIComponent(
  `import { readFileSync, writeFileSync } from "node:fs"; process.on("exit", () => { const f = process.env.TRTX_BENCH_USAGE; ` +
    `if (!f) return; const u = process.resourceUsage(); let hwm; try { hwm = Number(/VmHWM:\\s*(\\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) } catch {} ` +
    `writeFileSync(f, JSON.stringify({ ...u, maxRSS: hwm > 0 ? hwm : u.maxRSS })) })`
)

/** One measured process. */
export interface Run {
  readonly wallMs: number
  readonly cpuMs: number
  /** Peak resident memory, bytes. */
  readonly peakRss: number
}

/** The medians of a command's runs at one size. */
export interface CommandRow {
  readonly command: string
  readonly nodes: number
  readonly runs: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakRss: number
}

/** The medians of each step's time at one size (ms), and the peak memory of the process. */
export interface StepRow {
  readonly nodes: number
  readonly runs: number
  readonly steps: ReadonlyArray<readonly [string, number]>
  readonly peakRss: number
}

export interface Result {
  readonly sizes: ReadonlyArray<number>
  readonly startup: CommandRow
  readonly commands: ReadonlyArray<CommandRow>
  readonly steps: ReadonlyArray<StepRow>
}

/** The median of `xs`. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Runs `node script args` once in a fresh process, in `dir`'s scratch; fails loudly when the process does. */
export const measure = (dir: string, script: string, args: ReadonlyArray<string>): { readonly run: Run; readonly stdout: string } => {
  const usageFile = nodePath.join(dir, "usage.json")
  fs.rmSync(usageFile, { force: true })
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [`--import=${HOOK}`, script, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TRTX_BENCH_USAGE: usageFile },
    maxBuffer: 1 << 26
  })
  const wallMs = performance.now() - t0
  if (r.status !== 0) throw new Error(`${nodePath.basename(script)} ${args.join(" ")} exited ${r.status}: ${r.stderr}`)
  const usage = JSON.parse(fs.readFileSync(usageFile, "utf8")) as NodeJS.ResourceUsage
  return {
    run: { wallMs, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, peakRss: usage.maxRSS * 1024 },
    stdout: r.stdout
  }
}

const commandRow = (command: string, nodes: number, runs: ReadonlyArray<Run>): CommandRow => ({
  command,
  nodes,
  runs: runs.length,
  wallMs: median(runs.map((r) => r.wallMs)),
  cpuMs: median(runs.map((r) => r.cpuMs)),
  peakRss: median(runs.map((r) => r.peakRss))
})

// The commands, by what each one does, and their arguments for the files of one size.
const COMMANDS: ReadonlyArray<readonly [string, (f: Files) => ReadonlyArray<string>]> = [
  ["inspect .tgm", (f) => ["inspect", f.tgm]],
  ["export", (f) => ["export", f.tgm, "-o", f.exported, "-q"]],
  ["inspect .pt2", (f) => ["inspect", f.pt2]],
  ["load", (f) => ["load", f.cross, "-o", f.loaded, "-q"]],
  ["report .pt2", (f) => ["report", f.pt2, "-o", f.html]]
]

interface Files {
  readonly tgm: string
  readonly pt2: string
  readonly cross: string
  readonly exported: string
  readonly loaded: string
  readonly html: string
}

const filesOf = (dir: string, n: number): Files => ({
  tgm: nodePath.join(dir, `chain_${n}.tgm`),
  pt2: nodePath.join(dir, `chain_${n}.pt2`),
  cross: nodePath.join(dir, `chain_${n}_cross.pt2`),
  exported: nodePath.join(dir, `out_${n}.pt2`),
  loaded: nodePath.join(dir, `loaded_${n}.pt2`),
  html: nodePath.join(dir, `report_${n}.html`)
})

/**
 * Runs the benchmark: `runs` processes per command, size and step table (medians). Inputs are made first,
 * each size in a process of its own, under a temporary folder that is removed at the end.
 */
export const run = (sizes: ReadonlyArray<number> = [10_000, 50_000, 100_000], runs = 3): Result => {
  // Checked here, not at import: `--prepare` and `--steps` run without the CLI, bundled too (bench/host).
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first (npm run bench does)`)
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "trtx-bench-"))
  try {
    for (const n of sizes) measure(dir, SELF, ["--prepare", dir, String(n)])
    const startupRuns: Array<Run> = []
    const byCommand = new Map<string, Array<Run>>()
    const bySteps = new Map<number, Array<{ readonly steps: ReadonlyArray<readonly [string, number]>; readonly peakRss: number }>>()
    // Rounds of every command at every size, so that a slow spell of the machine falls on all of them.
    for (let r = 0; r < runs; r++) {
      startupRuns.push(measure(dir, BIN, ["--version"]).run)
      for (const n of sizes) {
        const f = filesOf(dir, n)
        for (const [name, args] of COMMANDS) {
          const key = `${name}@${n}`
          byCommand.set(key, [...(byCommand.get(key) ?? []), measure(dir, BIN, args(f)).run])
        }
        const { run, stdout } = measure(dir, SELF, ["--steps", dir, String(n)])
        const steps = JSON.parse(stdout) as ReadonlyArray<readonly [string, number]>
        bySteps.set(n, [...(bySteps.get(n) ?? []), { steps, peakRss: run.peakRss }])
      }
    }
    return {
      sizes,
      startup: commandRow("start-up (--version)", 0, startupRuns),
      commands: sizes.flatMap((n) => COMMANDS.map(([name]) => commandRow(name, n, byCommand.get(`${name}@${n}`)!))),
      steps: sizes.map((n) => {
        const samples = bySteps.get(n)!
        return {
          nodes: n,
          runs: samples.length,
          steps: samples[0]!.steps.map(([step], i) => [step, median(samples.map((s) => s.steps[i]![1]))] as const),
          peakRss: median(samples.map((s) => s.peakRss))
        }
      })
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ===== Child processes =====

/** Writes the inputs of one size into `dir`: the module, its program plain and cross-compiled. */
export const prepare = async (dir: string, n: number): Promise<void> => {
  const f = filesOf(dir, n)
  const module = Chain.build(n)
  await Effect.runPromise(Tgm.writeFile(f.tgm, module))
  const read = await Effect.runPromise(Tgm.readFile(f.tgm))
  await Effect.runPromise(Writer.writeFile(f.pt2, await Effect.runPromise(Exporter.exportModule(read))))
  const again = await Effect.runPromise(Tgm.readFile(f.tgm))
  await Effect.runPromise(Writer.writeFile(f.cross, await Effect.runPromise(Exporter.exportModule(again, { crossCompile: true }))))
}

// The JSON floor's rows: not steps of the work, but what the steps that read and write JSON are held to,
// cold (the step's first run in the process) and warm (the best of three more runs of it, after the others).
const FLOOR_PARSE_MODULE = "JSON.parse module.json"
const FLOOR_PARSE_MODEL = "JSON.parse model.json"
const FLOOR_STRINGIFY_MODEL = "JSON.stringify model.json"
const WARM = " warm"
const FLOOR: ReadonlyArray<readonly [step: string, floor: string]> = [
  ["read .tgm", FLOOR_PARSE_MODULE],
  ["write .pt2", FLOOR_STRINGIFY_MODEL],
  ["read .pt2", FLOOR_PARSE_MODEL],
  [`read .tgm${WARM}`, FLOOR_PARSE_MODULE],
  [`write .pt2${WARM}`, FLOOR_STRINGIFY_MODEL],
  [`read .pt2${WARM}`, FLOOR_PARSE_MODEL]
]
// Rows printed against the floor only: neither part of the work nor counted in its total.
const isFloor = (name: string) => name.startsWith("JSON.") || name.endsWith(WARM)

/**
 * Times each step of the work on the inputs of one size in `dir` ({@link prepare}), as the CLI runs it, then
 * the JSON steps again warm and the JSON floor, and prints them as JSON.
 */
export const steps = async (dir: string, n: number): Promise<void> => {
  const f = filesOf(dir, n)
  const out: Array<readonly [string, number]> = []
  const timed = async <A>(step: string, f: () => Promise<A>): Promise<A> => {
    const t0 = performance.now()
    const a = await f()
    out.push([step, performance.now() - t0])
    return a
  }
  const module = await timed("read .tgm", () => Effect.runPromise(Tgm.readFile(f.tgm)))
  const exported = await timed("export", () =>
    Effect.runPromise(Exporter.runWithReport(Exporter.exportProgram(), module)))
  await timed("write .pt2", () => Effect.runPromise(Writer.writeFile(f.exported, exported.output)))
  const { program } = await timed("read .pt2", () => Effect.runPromise(Reader.readFile(f.exported)))
  const summary = await timed("inspect", async () => {
    const s = Summary.ofProgram(program)
    Render.summary(s)
    return s
  })
  await timed("report", async () => fs.writeFileSync(f.html, await Effect.runPromise(Report.html(program, summary, "chain.pt2"))))
  const best = async (step: string, f: () => unknown) => {
    let ms = Infinity
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      await f()
      ms = Math.min(ms, performance.now() - t0)
    }
    out.push([step, ms])
  }
  // The steps that read and write JSON again, warm.
  await best(`read .tgm${WARM}`, () => Effect.runPromise(Tgm.readFile(f.tgm)))
  await best(`write .pt2${WARM}`, () => Effect.runPromise(Writer.writeFile(f.exported, exported.output)))
  await best(`read .pt2${WARM}`, () => Effect.runPromise(Reader.readFile(f.exported)))
  // The JSON floor: the same JSON bytes through JSON.parse and JSON.stringify alone, after the steps, the best
  // of three.
  const entry = (file: string, suffix: string) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const zip = yield* Zip.open({ _tag: "File", path: file })
      return new TextDecoder().decode(yield* zip.read([...zip.entries.keys()].find((k) => k.endsWith(suffix))!))
    })))
  const moduleJson = await entry(f.tgm, "module.json")
  const modelJson = await entry(f.exported, "models/model.json")
  const model = JSON.parse(modelJson) as unknown
  await best(FLOOR_PARSE_MODULE, () => JSON.parse(moduleJson))
  await best(FLOOR_PARSE_MODEL, () => JSON.parse(modelJson))
  await best(FLOOR_STRINGIFY_MODEL, () => JSON.stringify(model))
  console.log(JSON.stringify(out))
}

// ===== Printing =====

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0)
const pad = (s: string | number, w: number): string => String(s).padStart(w)

/**
 * The tables of a result, as lines: per command and size the medians, the time per node net of start-up and
 * its ratio to the smallest size's; per step the same in one process. `limit` is the ratio printed as met.
 */
export const lines = (r: Result, limit = 1.7): Array<string> => {
  const out: Array<string> = []
  const smallest = Math.min(...r.sizes)
  const s = r.startup
  const verdict = (ratio: number) => (ratio <= limit ? "ok" : `over ${limit}`)
  out.push(
    `start-up (node dist/cli/trtx.js --version): ${s.wallMs.toFixed(0)} ms wall, ${s.cpuMs.toFixed(0)} ms CPU, ${mib(s.peakRss)} MiB peak; ` +
      `median of ${s.runs}`
  )
  out.push(
    `${"command".padEnd(14)}${pad("nodes", 8)}${pad("wall ms", 10)}${pad("cpu ms", 9)}${pad("peak MiB", 10)}` +
      `${pad("net µs/node", 13)}${pad("ratio", 7)}${pad("cpu ratio", 11)}`
  )
  const net = (c: CommandRow) => ({ wall: (c.wallMs - s.wallMs) / c.nodes * 1000, cpu: (c.cpuMs - s.cpuMs) / c.nodes * 1000 })
  for (const c of r.commands) {
    const base = r.commands.find((b) => b.command === c.command && b.nodes === smallest)!
    const ratio = net(c).wall / net(base).wall
    const cpuRatio = net(c).cpu / net(base).cpu
    out.push(
      `${c.command.padEnd(14)}${pad(c.nodes, 8)}${pad(c.wallMs.toFixed(0), 10)}${pad(c.cpuMs.toFixed(0), 9)}${pad(mib(c.peakRss), 10)}` +
        `${pad(net(c).wall.toFixed(2), 13)}${pad(ratio.toFixed(2), 7)}${pad(cpuRatio.toFixed(2), 11)}` +
        (c.nodes === smallest ? "" : `  ${verdict(ratio)}`)
    )
  }
  out.push("")
  const names = r.steps[0]?.steps.map(([name]) => name) ?? []
  out.push(
    `${"step".padEnd(12)}` + r.steps.map((row) => `${pad(`${row.nodes / 1000}k ms`, 10)}${pad("µs/node", 9)}${row.nodes === smallest ? "" : pad("ratio", 7)}`).join("")
  )
  const base = r.steps.find((row) => row.nodes === smallest)!
  for (const [i, name] of names.entries()) {
    if (isFloor(name)) continue
    const perNode = (row: StepRow) => (row.steps[i]![1] / row.nodes) * 1000
    out.push(
      `${name.padEnd(12)}` +
        r.steps.map((row) =>
          `${pad(row.steps[i]![1].toFixed(0), 10)}${pad(perNode(row).toFixed(2), 9)}` +
          (row.nodes === smallest ? "" : pad((perNode(row) / perNode(base)).toFixed(2), 7))
        ).join("")
    )
  }
  const total = (row: StepRow) => row.steps.reduce((acc, [name, ms]) => acc + (isFloor(name) ? 0 : ms), 0)
  out.push(
    `${"all steps".padEnd(12)}` +
      r.steps.map((row) =>
        `${pad(total(row).toFixed(0), 10)}${pad(((total(row) / row.nodes) * 1000).toFixed(2), 9)}` +
        (row.nodes === smallest ? "" : pad(((total(row) / row.nodes) / (total(base) / base.nodes)).toFixed(2), 7))
      ).join("")
  )
  out.push(`${"peak MiB".padEnd(12)}` + r.steps.map((row) => `${pad(mib(row.peakRss), 10)}${"".padStart(row.nodes === smallest ? 9 : 16)}`).join(""))
  out.push("")
  out.push(`${"against the JSON floor".padEnd(40)}` + r.steps.map((row) => `${pad(`${row.nodes / 1000}k ms`, 10)}${pad("floor", 8)}${pad("times", 7)}`).join(""))
  const ms = (row: StepRow, name: string) => row.steps.find(([n]) => n === name)?.[1] ?? NaN
  for (const [step, floor] of FLOOR) {
    out.push(
      `${`${step} / ${floor.replace("JSON.", "")}`.padEnd(40)}` +
        r.steps.map((row) => `${pad(ms(row, step).toFixed(0), 10)}${pad(ms(row, floor).toFixed(0), 8)}${pad((ms(row, step) / ms(row, floor)).toFixed(1), 7)}`).join("")
    )
  }
  return out
}

/**
 * Whether every command's time per node (net of start-up) at each size is within `limit` times the
 * smallest size's.
 */
export const linear = (r: Result, limit = 1.7): boolean => {
  const smallest = Math.min(...r.sizes)
  const net = (c: CommandRow) => (c.wallMs - r.startup.wallMs) / c.nodes
  return r.commands.every((c) => net(c) <= limit * net(r.commands.find((b) => b.command === c.command && b.nodes === smallest)!))
}

if (import.meta.main) {
  const [mode, dir, n] = process.argv.slice(2)
  if (mode === "--prepare") await prepare(dir!, Number(n))
  else if (mode === "--steps") await steps(dir!, Number(n))
  else {
    // Alone: `node bench/cli.ts [runs] [sizes...]`.
    const runs = mode === undefined ? 3 : Number(mode)
    const sizes = process.argv.slice(3).map(Number)
    console.log(lines(run(sizes.length > 0 ? sizes : undefined, runs)).join("\n"))
  }
}
