/**
 * `npm run build`: the library as JavaScript with its types (`tsc -p tsconfig.build.json` into `dist/`), and
 * the CLI as one bundled file, `dist/cli/trtx-main.js`, started by `dist/cli/trtx.js`, which `package.json`'s
 * `bin` names.
 *
 * The bundle exists for start-up: Node resolves and compiles hundreds of modules of `effect`,
 * `@effect/platform-node` and trtx one file at a time, which cost a cold `trtx` process about a second
 * before any work; one file costs a fraction of that (docs/benchmarks.md). It is an ES module, like the
 * sources. The launcher turns on Node's compile cache (`module.enableCompileCache`, in the system's temporary
 * folder unless `NODE_COMPILE_CACHE` says otherwise) before it imports the bundle, so that a second start does
 * not compile the bundle's 1.8 MB again: a quarter of a cold `--version`. The data files that modules find beside themselves (`import.meta.url`) are copied beside the
 * bundle too: the operator table (`program/schemas`); the native addon is found at `../../build/Release`
 * from both `src/engine` and `dist/cli`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as esbuild from "esbuild"

const ROOT = path.join(import.meta.dirname, "..")
const DIST = path.join(ROOT, "dist")

execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json")], {
  stdio: "inherit"
})
// The report's chunk carries elkjs (EPL-2.0): its licence travels with it.
fs.mkdirSync(path.join(DIST, "cli"), { recursive: true })
fs.copyFileSync(path.join(ROOT, "node_modules/elkjs/LICENSE.md"), path.join(DIST, "cli/elkjs-LICENSE.md"))
const schemas = path.join(ROOT, "src/program/schemas")
fs.cpSync(schemas, path.join(DIST, "program/schemas"), { recursive: true })
fs.cpSync(schemas, path.join(DIST, "cli/schemas"), { recursive: true })

// Chunks from earlier builds would pile up beside the bundle: they are named by their content.
for (const f of fs.readdirSync(path.join(DIST, "cli"))) if (/^chunk-.*\.js$/.test(f)) fs.rmSync(path.join(DIST, "cli", f))
await esbuild.build({
  entryPoints: { "trtx-main": path.join(ROOT, "src/cli/bin.ts") },
  outdir: path.join(DIST, "cli"),
  // The modules the CLI imports only when a command needs them (the GPU layer, the report) become chunks
  // beside the bundle, loaded then; they stay in `dist/cli`, so that what they find beside themselves
  // (`import.meta.url`: the native addon) is where it is for the bundle.
  splitting: true,
  chunkNames: "chunk-[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  // Bundled CommonJS dependencies (yauzl) call `require`, which an ES module does not have.
  banner: { js: "import { createRequire as __trtxRequire } from \"node:module\"; const require = __trtxRequire(import.meta.url);" },
  logLevel: "warning"
})
// The launcher: the Node version first (an older Node would fail later, on a large integer, with no word
// about why), then the compile cache, then the bundle.
const launcher = `#!/usr/bin/env node
// The trtx command: the Node version checked, Node's compile cache on, then the bundled CLI (scripts/build.ts).
import module from "node:module"
const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(\`trtx: Node \${process.versions.node} is older than the 22.19 trtx needs (Node 24 is the one it is tested with)\\n\`)
  process.exit(2)
}
module.enableCompileCache?.()
await import("./trtx-main.js")
`
fs.writeFileSync(path.join(DIST, "cli/trtx.js"), launcher, { mode: 0o755 })
