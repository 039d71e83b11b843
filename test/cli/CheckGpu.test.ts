/**
 * `trtx load --check-gpu` as a user runs it: on a machine where CUDA cannot be used (CI; here forced with
 * CUDART_LIBRARY pointing nowhere, so the test means the same on a GPU host) it prints one located error,
 * exits 1 and writes nothing; the addon's absence is said as clearly.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const ROOT = path.join(import.meta.dirname, "../..")
const SAMPLE = "test/fixtures/samples/mlp/input.tgm"

const trtx = (env: Record<string, string>, ...args: Array<string>) => {
  const r = spawnSync(process.execPath, ["src/cli/bin.ts", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("trtx load --check-gpu", () => {
  it("without CUDA: one located error naming the reason, exit 1, nothing written", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trtx-gpu-"))
    try {
      const cross = path.join(dir, "c.pt2")
      const out = path.join(dir, "l.pt2")
      assert.strictEqual(trtx({}, "export", SAMPLE, "-o", cross, "--cross-compile", "--quiet").code, 0)
      const r = trtx({ CUDART_LIBRARY: "/nonexistent/libcudart.so.13" }, "load", cross, "-o", out, "--check-gpu")
      assert.strictEqual(r.code, 1)
      assert.match(
        r.stderr,
        /^error: \S+\.pt2: checkEngines: cannot check the engines against this machine's GPU: CUDA is unavailable \(no-runtime\): \/nonexistent\/libcudart\.so\.13: cannot open shared object file.*\n$/
      )
      assert.notMatch(r.stderr, /\n\s+at /)
      assert.isFalse(fs.existsSync(out))
      const noAddon = trtx({ TRTX_NATIVE_ADDON: path.join(dir, "missing.node") }, "load", cross, "-o", out, "--check-gpu")
      assert.strictEqual(noAddon.code, 1)
      assert.match(noAddon.stderr, /^error: \S+\.pt2: checkEngines: .*CUDA is unavailable \(addon-not-loaded\): .*missing\.node/)
      // Without the flag the addon is never touched.
      assert.strictEqual(trtx({ TRTX_NATIVE_ADDON: path.join(dir, "missing.node") }, "load", cross, "-o", out, "--quiet").code, 0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
