/**
 * The CLI end to end, as a user runs it: `node src/cli/bin.ts ...` in a child process, checking what it
 * prints, what it writes and its exit code.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Zip from "../../src/archive/zip/Zip.ts"
import * as Summary from "../../src/program/Summary.ts"
import * as C from "../utils/TgmCraft.ts"

const ROOT = path.join(import.meta.dirname, "../..")
const SAMPLE = "test/fixtures/samples/mlp/input.tgm"

// The name under which a written program's gelu node passes its tensor (the schema's first argument).
const geluInput = (file: string) =>
  Effect.scoped(Effect.gen(function*() {
    const zip = yield* Zip.open({ _tag: "File", path: file })
    const entry = [...zip.entries.keys()].find((n) => n.endsWith("/models/model.json"))!
    const model = JSON.parse(new TextDecoder().decode(yield* zip.read(entry)))
    const gelu = model.graph_module.graph.nodes.find((n: { target: string }) => n.target === "torch.ops.aten.gelu.default")
    return gelu.inputs[0].name as string
  }))

const trtx = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, ["src/cli/bin.ts", ...args], { cwd: ROOT, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const withDir = <A>(f: (dir: string) => A): A => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-cli-"))
  try {
    return f(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("trtx CLI", () => {
  it("export writes the archive and prints the pass table and the summary", () =>
    withDir((dir) => {
      const out = path.join(dir, "new", "folder", "mlp.pt2") // the CLI makes the output's folder
      const r = trtx("export", SAMPLE, "-o", out)
      assert.strictEqual(r.code, 0, r.stderr)
      for (const pass of ["deepCopy", "inlineTrtModules", "inlineTorchModules", "cleanup", "lift", "createExportedProgram"]) {
        assert.match(r.stdout, new RegExp(`^${pass} +\\d+ +\\d+ +[\\d.]+$`, "m"))
      }
      assert.match(r.stdout, /exported program: 9 nodes, 2 engines, 0 weights \(0 B\), 3 inputs, 1 output$/m)
      assert.isTrue(fs.existsSync(out))
    }), 30_000)

  // util-linux's `script` gives the command a terminal, as a user's shell does.
  it.skipIf(spawnSync("script", ["--version"]).status !== 0)(
    "on a terminal, each step shows its progress, in bytes where it reads or writes an archive",
    () =>
      withDir((dir) => {
        const out = path.join(dir, "tty.pt2")
        const command = [process.execPath, "src/cli/bin.ts", "export", "examples/example.tgm", "-o", out].map((a) => `'${a}'`).join(" ")
        const r = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: ROOT, encoding: "utf8" })
        assert.strictEqual(r.status, 0, r.stdout)
        assert.match(r.stdout, /reading \S*example\.tgm… \d+ B of [\d.]+ KiB \(\d+%\)/)
        assert.match(r.stdout, /writing \S*tty\.pt2… [\d.]+ \S?B of [\d.]+ KiB \(\d+%\)/)
        assert.match(r.stdout, /writing \S*tty\.pt2: \d+ ms/)
        assert.isTrue(fs.existsSync(out))
      }),
    30_000
  )

  it("--quiet prints nothing; piped, no progress reaches stderr; --verbose adds the summary's tables", () =>
    withDir((dir) => {
      const out = path.join(dir, "q.pt2")
      const quiet = trtx("export", SAMPLE, "-o", out, "--quiet")
      assert.strictEqual(quiet.code, 0)
      assert.strictEqual(quiet.stdout, "")
      assert.strictEqual(quiet.stderr, "")
      assert.isTrue(fs.existsSync(out))
      const normal = trtx("export", SAMPLE, "-o", out)
      assert.strictEqual(normal.stderr, "")
      assert.notMatch(normal.stdout, /^target /m)
      const verbose = trtx("export", SAMPLE, "-o", out, "--verbose")
      assert.match(verbose.stdout, /^target +nodes$/m)
      assert.match(verbose.stdout, /^engine +held by/m)
    }), 30_000)

  it.effect("inspect --json is the library's summary of the same file", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-cli-"))
      try {
        const out = path.join(dir, "mlp_cross.pt2")
        assert.strictEqual(trtx("export", SAMPLE, "-o", out, "--cross-compile").code, 0)
        const r = trtx("inspect", out, "--json")
        assert.strictEqual(r.code, 0, r.stderr)
        const summary = Summary.ofProgram((yield* Reader.readFile(out)).program)
        assert.deepStrictEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(summary)))
        // Cross-compiled engines are found in their no-op nodes.
        assert.strictEqual(summary.engines.length, 2)
        assert.deepStrictEqual(summary.problems, [])
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 30_000)

  it("load puts the engines back, and verify accepts the result", () =>
    withDir((dir) => {
      const cross = path.join(dir, "c.pt2")
      const loaded = path.join(dir, "l.pt2")
      assert.strictEqual(trtx("export", SAMPLE, "-o", cross, "--cross-compile").code, 0)
      const r = trtx("load", cross, "-o", loaded, "--verbose")
      assert.strictEqual(r.code, 0, r.stderr)
      assert.match(r.stdout, /torch\.ops\.tensorrt\.execute_engine\.default +2/)
      const v = trtx("verify", loaded)
      assert.strictEqual(v.code, 0)
      assert.strictEqual(v.stdout.trim(), `${loaded}: valid`)
    }), 30_000)

  it.effect("an operator nobody knows is one located error, from export and from verify alike; --schemas supplies it", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-cli-"))
      try {
        // The mlp sample with its gelu made a custom operator, and no op_schemas.json.
        const tgm = path.join(dir, "custom.tgm")
        fs.writeFileSync(tgm, yield* C.editSample("mlp", (e) =>
          C.replaceEntry(e, "module.json", C.text(C.str(C.entryOf(e, "module.json").data).replaceAll("torch.ops.aten.gelu.default", "torch.ops.mylib.gelu.default")))))
        const out = path.join(dir, "custom.pt2")
        const r = trtx("export", tgm, "-o", out)
        assert.strictEqual(r.code, 1)
        const lines = r.stderr.trim().split("\n")
        assert.strictEqual(lines.length, 1, r.stderr)
        assert.match(lines[0]!, /^error: \S+\.tgm: createExportedProgram.*no schema is known for the operator torch\.ops\.mylib\.gelu\.default \(called by gelu\).*--schemas/)
        assert.isFalse(fs.existsSync(out))
        const v = trtx("verify", tgm)
        assert.strictEqual(v.code, 1)
        assert.strictEqual(v.stderr.trim(), lines[0])
        const file = path.join(dir, "s.json")
        fs.writeFileSync(file, JSON.stringify(["mylib::gelu(Tensor self, *, str approximate=\"none\") -> Tensor"]))
        const w = trtx("export", tgm, "-o", out, "--schemas", file, "--quiet")
        assert.strictEqual(w.code, 0, w.stderr)
        assert.isTrue(fs.existsSync(out))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 30_000)

  it("names from an archive cannot drive the terminal: control characters in a message are printed escaped", () =>
    withDir((dir) => {
      const f = path.join(dir, "evil.pt2")
      // The first entry is not in a root folder, so the error names it; its name holds an ANSI sequence.
      fs.writeFileSync(f, C.rawZip([{ name: "\x1b[2J\x1b[1;1Hall good", data: C.text("x") }]))
      const r = trtx("verify", f)
      assert.strictEqual(r.code, 1)
      assert.notInclude(r.stderr, "\x1b")
      assert.include(r.stderr, "\\x1b[2J\\x1b[1;1Hall good")
    }), 30_000)

  it("a failure prints its located message once, without a stack, exits 1", () =>
    withDir((dir) => {
      const junk = path.join(dir, "junk.pt2")
      fs.writeFileSync(junk, "junk")
      const v = trtx("verify", junk)
      assert.strictEqual(v.code, 1)
      assert.match(v.stderr, /^error: .*junk\.pt2: CorruptZip: /)
      assert.notMatch(v.stderr, /\n\s+at /)
    }), 30_000)

  it.effect("a treespec that is not one, or metadata the writer cannot write back, is one located line, exit 1, no file", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-cli-"))
      try {
        const spec = path.join(dir, "spec.tgm")
        fs.writeFileSync(spec, yield* C.editModule("mlp", (j) => void (j.graph.in_spec = "[".repeat(5000) + "]".repeat(5000))))
        const meta = path.join(dir, "meta.tgm")
        fs.writeFileSync(meta, yield* C.editModule("mlp", (j) => {
          j.children._run_on_gpu_1.graph.nodes[1].meta.nn_module_stack = { "L__self__;evil": ["", "zoo.MLP"] }
        }))
        const out = path.join(dir, "out.pt2")
        for (const [args, pattern] of [
          [[spec, "--cross-compile"], /^error: .*spec\.tgm: module\.json at \$\.graph\.in_spec: SchemaMismatch: a pytree treespec/],
          [[meta], /^error: .*out\.pt2: models\/model\.json \(node gelu\): Unserializable: .*nn_module_stack/]
        ] as const) {
          const r = trtx("export", ...args, "-o", out)
          assert.strictEqual(r.code, 1, r.stderr)
          const lines = r.stderr.trim().split("\n")
          assert.strictEqual(lines.length, 1, r.stderr)
          assert.match(lines[0]!, pattern)
          assert.isFalse(fs.existsSync(out))
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 30_000)

  it.effect("export takes the schemas the archive carries (op_schemas.json); --schemas adds to them and wins", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-cli-"))
      try {
        const GELU = "aten::gelu(Tensor self, *, str approximate=\\\"none\\\") -> Tensor"
        // The mlp sample (gelu in PyTorch) with the entry the dumper writes: no --schemas needed.
        const tgm = path.join(dir, "mlp.tgm")
        fs.writeFileSync(tgm, yield* C.editSample("mlp", (e) => [...e, { name: "op_schemas.json", data: C.text(`["${GELU}"]`), compress: true }]))
        const out = path.join(dir, "mlp.pt2")
        const r = trtx("export", tgm, "-o", out)
        assert.strictEqual(r.code, 0, r.stderr)
        assert.strictEqual(yield* geluInput(out), "self")
        // A schema given on the command line replaces the archive's for the same operator.
        const file = path.join(dir, "s.json")
        fs.writeFileSync(file, JSON.stringify([GELU.replace("Tensor self", "Tensor input").replaceAll("\\\"", "\"")]))
        const w = trtx("export", tgm, "-o", out, "--schemas", file)
        assert.strictEqual(w.code, 0, w.stderr)
        assert.strictEqual(yield* geluInput(out), "input")
        // The bundled example exports as it is.
        assert.strictEqual(trtx("export", "examples/example.tgm", "-o", path.join(dir, "example.pt2"), "--quiet").code, 0)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }), 30_000)

  it("inspect refuses a file that is neither .tgm nor .pt2: a usage error, exit 2", () =>
    withDir((dir) => {
      const f = path.join(dir, "x.txt")
      fs.writeFileSync(f, "x")
      const r = trtx("inspect", f)
      assert.strictEqual(r.code, 2)
      assert.match(r.stderr, /x\.txt: not a compiled module \(\.tgm\) or a torch\.export program \(\.pt2\): trtx inspect takes one/)
    }))

  it("a bad command line exits 2 after the help and the error; --help exits 0", () => {
    const missing = trtx("export", SAMPLE)
    assert.strictEqual(missing.code, 2)
    assert.match(missing.stdout + missing.stderr, /Missing required flag: --output/)
    assert.strictEqual(trtx("nonsense").code, 2)
    const help = trtx("--help")
    assert.strictEqual(help.code, 0)
    for (const c of ["export", "load", "inspect", "verify"]) assert.match(help.stdout, new RegExp(`^  ${c} `, "m"))
  }, 30_000)
})
