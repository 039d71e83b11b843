/**
 * The CLI guards its user: one exit-code rule for every command (0 done, 1 the work failed, 2 it cannot
 * start), a file of the wrong kind told by its contents in one sentence, and outputs checked before anything
 * is read, so that no command replaces an input, a directory or a file of another kind. Each refusal leaves
 * every file as it was.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const ROOT = path.join(import.meta.dirname, "../..")
const SAMPLE = path.join(ROOT, "test/fixtures/samples/single_engine/input.tgm")

const trtx = (...args: Array<string>) => {
  const r = spawnSync(process.execPath, ["src/cli/bin.ts", ...args], { cwd: ROOT, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

// Every file of a folder with its bytes, to show that a refused command changed nothing.
const snapshot = (dir: string): Map<string, string> =>
  new Map(fs.readdirSync(dir).sort().map((f) => {
    const p = path.join(dir, f)
    return [f, fs.lstatSync(p).isDirectory() ? "<dir>" : fs.readFileSync(p).toString("base64")] as const
  }))

describe("the CLI's guards", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-guards-"))
  const tgm = path.join(dir, "m.tgm")
  const pt2 = path.join(dir, "m.pt2")
  const cross = path.join(dir, "cross.pt2")
  fs.copyFileSync(SAMPLE, tgm)

  it("the exit codes of every command: 0 done, 1 the work failed, 2 it cannot start", () => {
    assert.strictEqual(trtx("export", tgm, "-o", pt2, "--quiet").code, 0)
    assert.strictEqual(trtx("export", tgm, "-o", cross, "--cross-compile", "--quiet").code, 0)
    assert.strictEqual(trtx("load", cross, "-o", path.join(dir, "loaded.pt2"), "--quiet").code, 0)
    assert.strictEqual(trtx("inspect", pt2).code, 0)
    assert.strictEqual(trtx("verify", tgm).code, 0)
    assert.strictEqual(trtx("report", pt2, "-o", path.join(dir, "m.html")).code, 0)

    // A file of the right kind that is broken: the work fails.
    const broken = path.join(dir, "broken.tgm")
    const bytes = fs.readFileSync(tgm)
    fs.writeFileSync(broken, bytes.subarray(0, bytes.length - 30))
    for (const args of [["export", broken, "-o", path.join(dir, "b.pt2")], ["inspect", broken], ["verify", broken], ["report", broken, "-o", path.join(dir, "b.html")]]) {
      const r = trtx(...args)
      assert.strictEqual(r.code, 1, `${args[0]}: ${r.stderr}`)
      assert.match(r.stderr, /^error: .*broken\.tgm/m)
    }
    const brokenPt2 = path.join(dir, "broken.pt2")
    const p = fs.readFileSync(cross)
    fs.writeFileSync(brokenPt2, p.subarray(0, p.length - 30))
    assert.strictEqual(trtx("load", brokenPt2, "-o", path.join(dir, "b2.pt2")).code, 1)

    // The command cannot start: conflicting flags.
    const both = trtx("export", tgm, "-o", path.join(dir, "q.pt2"), "--quiet", "--verbose")
    assert.strictEqual(both.code, 2)
    assert.match(both.stderr, /^error: --quiet: cannot be given with --verbose$/m)
    assert.isFalse(fs.existsSync(path.join(dir, "q.pt2")))
  }, 120_000)

  it("a file of the wrong kind, told by its contents, is one sentence naming the commands that take it, exit 2", () => {
    const disguised = path.join(dir, "program.tgm")
    fs.copyFileSync(pt2, disguised)
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["export", pt2, "-o", path.join(dir, "x.pt2")], /m\.pt2: this is a torch\.export program \(\.pt2\), but trtx export takes a compiled module \(\.tgm\); trtx inspect, verify and report take it/],
      [["export", disguised, "-o", path.join(dir, "x.pt2")], /program\.tgm: this is a torch\.export program \(\.pt2\)/],
      [["load", tgm, "-o", path.join(dir, "x.pt2")], /m\.tgm: this is a compiled module \(\.tgm\), but trtx load takes a torch\.export program \(\.pt2\); trtx export, inspect, verify and report take it/],
      [["verify", path.join(dir, "m.html")], /m\.html: this is an HTML page, but trtx verify takes a compiled module \(\.tgm\) or a torch\.export program \(\.pt2\)/]
    ]
    for (const [args, message] of cases) {
      const r = trtx(...args)
      assert.strictEqual(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
      assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr)
    }
    assert.isFalse(fs.existsSync(path.join(dir, "x.pt2")))
    // A file whose name says nothing is read by what it is.
    const bare = path.join(dir, "bare")
    fs.copyFileSync(tgm, bare)
    assert.strictEqual(trtx("inspect", bare).code, 0)
  }, 60_000)

  it("an output that is an input, a directory, or a file of another kind is refused before anything is read", () => {
    const other = path.join(dir, "other")
    fs.mkdirSync(other)
    const page = path.join(other, "page.html")
    fs.copyFileSync(path.join(dir, "m.html"), page)
    const archiveNamedPage = path.join(other, "archive.html")
    fs.copyFileSync(tgm, archiveNamedPage)
    fs.symlinkSync(tgm, path.join(other, "link.pt2"))
    const input = path.join(other, "in.tgm")
    fs.copyFileSync(tgm, input)
    const before = snapshot(other)
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["export", input, "-o", input], /in\.tgm: is the input: trtx export writes a torch\.export program \(\.pt2\) and would replace it/],
      [["export", tgm, "-o", path.join(other, "link.pt2")], /link\.pt2: is the input/],
      [["export", input, "-o", path.join(other, "new.tgm")], /new\.tgm: names a compiled module \(\.tgm\), but trtx export writes a torch\.export program \(\.pt2\)/],
      [["export", input, "-o", path.join(other, "new.html")], /new\.html: names an HTML page, but trtx export writes/],
      [["export", input, "-o", other], /other: is a directory: name the file to write/],
      [["load", cross, "-o", cross], /cross\.pt2: is the input/],
      [["report", input, "-o", input], /in\.tgm: is the input: trtx report writes an HTML page/],
      [["report", pt2, "-o", path.join(other, "new.pt2")], /new\.pt2: names a torch\.export program \(\.pt2\), but trtx report writes an HTML page/],
      [["report", pt2, "-o", archiveNamedPage], /archive\.html: is a compiled module \(\.tgm\): trtx report writes an HTML page and would replace it/],
      [["report", pt2, "-o", other], /other: is a directory/]
    ]
    for (const [args, message] of cases) {
      const r = trtx(...args)
      assert.strictEqual(r.code, 2, `${args.join(" ")}: ${r.stderr}`)
      assert.match(r.stderr, message)
    }
    assert.deepStrictEqual(snapshot(other), before)
    // A page over a page is what report does.
    assert.strictEqual(trtx("report", pt2, "-o", page).code, 0)
  }, 120_000)

  it("a --schemas file that does not parse is named, with the schema's caret, exit 2", () => {
    const schemas = path.join(dir, "s.json")
    fs.writeFileSync(schemas, JSON.stringify(["foo::bar(Tensor x -> Tensor"]))
    const r = trtx("export", tgm, "-o", path.join(dir, "s.pt2"), "--schemas", schemas)
    assert.strictEqual(r.code, 2)
    assert.match(r.stderr, /^error: .*s\.json: Syntax at 18: /m)
    assert.match(r.stderr, /^ {2}foo::bar\(Tensor x -> Tensor\n {20}\^$/m)
    const out = trtx("export", tgm, "-o", schemas, "--schemas", schemas)
    assert.strictEqual(out.code, 2)
    assert.match(out.stderr, /s\.json: is the input/)
  }, 30_000)

  it("--help states the rule", () => {
    const help = trtx("--help")
    assert.match(help.stdout.replace(/\s+/g, " "), /exits 0 when its work is done, 1 when the work failed, and 2 when it cannot start/)
  }, 30_000)
})
