/**
 * `bench/cli.ts`'s steps as a program of their own, for `make-steps.sh` to bundle: `--prepare DIR N` writes
 * the inputs of one size, `--steps DIR N` times each step on them and prints the JSON list of `[step, ms]`;
 * `--large-engine DIR MIB` writes `bench/chain.ts`'s module with an engine of MIB MiB, for a machine with torch
 * to load what trtx makes of it.
 */
import * as Chain from "../chain.ts"
import * as CliBench from "../cli.ts"

const [mode, dir, n] = process.argv.slice(2)
if (dir === undefined || !(Number(n) > 0)) throw new Error("usage: steps (--prepare | --steps) DIR NODES | steps --large-engine DIR MIB")
if (mode === "--prepare") await CliBench.prepare(dir, Number(n))
else if (mode === "--steps") await CliBench.steps(dir, Number(n))
else if (mode === "--large-engine") console.log(await Chain.writeLargeEngine(dir, Number(n)))
else throw new Error(`unknown mode ${mode}: --prepare, --steps or --large-engine`)
