/**
 * `bench/cli.ts`'s steps as a program of their own, for `make-steps.sh` to bundle: `--prepare DIR N` writes
 * the inputs of one size, `--steps DIR N` times each step on them and prints the JSON list of `[step, ms]`.
 */
import * as CliBench from "../cli.ts"

const [mode, dir, n] = process.argv.slice(2)
if (dir === undefined || !(Number(n) > 0)) throw new Error("usage: steps (--prepare | --steps) DIR NODES")
if (mode === "--prepare") await CliBench.prepare(dir, Number(n))
else if (mode === "--steps") await CliBench.steps(dir, Number(n))
else throw new Error(`unknown mode ${mode}: --prepare or --steps`)
