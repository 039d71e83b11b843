/**
 * Property tests over random valid graphs (schema-derived arbitraries, see test/utils/GraphRecipe.ts):
 * they build and lint, survive the .tgm JSON round trip unchanged, stay lint-clean under random mutation
 * sequences, and a deep copy is independent of its original.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Encode from "../../src/archive/tgm/Encode.ts"
import * as Records from "../../src/archive/tgm/Records.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as DeadCode from "../../src/graph/DeadCode.ts"
import { GraphError } from "../../src/graph/GraphError.ts"
import * as GraphModule from "../../src/graph/GraphModule.ts"
import * as Lint from "../../src/graph/Lint.ts"
import * as Module from "../../src/graph/Module.ts"
import * as Tensor from "../../src/graph/Tensor.ts"
import { apply, build, GraphRecipe, Mutation } from "../utils/GraphRecipe.ts"

const printout = (gm: Module.GraphModule): string => JSON.stringify(Encode.encodeRoot(gm).root)
const options = { arbitrary: { runs: 150, size: 30 } }

describe("random valid graphs", () => {
  it.prop("build, lint, and every name is unique and fx-valid", { recipe: GraphRecipe }, ({ recipe }) => {
    const gm = build(recipe)
    GraphModule.lint(gm)
    const names = [...gm.graph.nodes()].map((n) => n.name)
    assert.strictEqual(new Set(names).size, names.length)
    for (const name of names) assert.match(name, /^[A-Za-z_][A-Za-z0-9_]*$/)
    // users are exactly the readers
    for (const n of gm.graph.nodes()) {
      for (const input of n.allInputNodes) assert.isTrue(input.users.has(n))
      for (const user of n.users) assert.include(user.allInputNodes, n)
    }
  }, options)

  it.prop("the module record survives JSON encode and schema decode unchanged", { recipe: GraphRecipe }, ({ recipe }) => {
    const gm = build(recipe)
    const record = Encode.encodeRoot(gm).root
    const text = JSON.stringify(record)
    const decoded = Schema.decodeUnknownSync(Records.RootRecord)(JSON.parse(text))
    assert.strictEqual(JSON.stringify(decoded), text)
  }, options)

  it.effect.prop("a .tgm round trip gives an equal module, bytes and all", { recipe: GraphRecipe }, ({ recipe }) =>
    Effect.gen(function*() {
      const gm = build(recipe)
      // A placeholder made from the name "" (fx's `_unnamed`) has an empty target, for which fx writes no
      // code: the writer refuses it, located, as the reader would.
      const unnamed = [...gm.graph.nodes()].findIndex((n) => n.op === "placeholder" && n.target === "")
      if (unnamed >= 0) {
        const e = yield* Effect.flip(Tgm.toBytes(gm))
        assert.deepStrictEqual([e.fault, e.path], ["Unserializable", `$.graph.nodes[${unnamed}].target`])
        return
      }
      const bytes = yield* Tgm.toBytes(gm)
      const back = yield* Tgm.readBytes(bytes)
      assert.strictEqual(printout(back), printout(gm))
      const again = yield* Tgm.toBytes(back)
      assert.deepStrictEqual(again, bytes)
      // tied parameters stay one tensor; the buffer stays non-persistent
      assert.strictEqual(back.parameters.get("w0"), back.parameters.get("w1"))
      assert.isTrue(back.nonPersistent.has("b0"))
    }), { arbitrary: { runs: 60, size: 30 } })
})

describe("mutations", () => {
  it.prop(
    "lint holds after every step of a random mutation sequence; refused steps change nothing",
    { recipe: GraphRecipe, mutations: Schema.Array(Mutation) },
    ({ recipe, mutations }) => {
      const gm = build(recipe)
      for (const m of mutations) {
        const before = printout(gm)
        const outcome = apply(gm.graph, m, (g) => DeadCode.eliminateDeadCode(g))
        if (outcome === "refused") {
          // The same erase through the API must throw GraphError and leave the graph as it was.
          const node = [...gm.graph.nodes()].filter((n) => n.op !== "output")[(m as { at: number }).at %
            [...gm.graph.nodes()].filter((n) => n.op !== "output").length]!
          assert.throws(() => gm.graph.eraseNode(node), GraphError)
          assert.strictEqual(printout(gm), before)
        }
        Lint.lint(gm.graph)
        Lint.checkUsers(gm.graph)
      }
    },
    options
  )
})

describe("deepCopy", () => {
  it.prop(
    "mutating the copy never changes the original; tensors and storages are shared",
    { recipe: GraphRecipe, mutations: Schema.Array(Mutation) },
    ({ recipe, mutations }) => {
      const gm = build(recipe)
      const before = printout(gm)
      const copy = GraphModule.deepCopy(gm)
      assert.strictEqual(printout(copy), before)
      assert.notStrictEqual(copy.graph, gm.graph)
      assert.strictEqual(copy.parameters.get("w0"), gm.parameters.get("w0"))
      assert.strictEqual(copy.parameters.get("w0")!.storage.bytes, gm.parameters.get("w0")!.storage.bytes)
      for (const m of mutations) apply(copy.graph, m, (g) => DeadCode.eliminateDeadCode(g))
      Module.registerParameter(copy, "extra", Tensor.make({ storage: Tensor.storage(new Uint8Array(4)), dtype: "float32", shape: [1] }))
      Module.registerParameter(copy, "w0", Tensor.make({ storage: Tensor.storage(new Uint8Array(32)), dtype: "float32", shape: [8] }))
      for (const n of copy.graph.nodes()) n.meta.stack_trace = "changed in the copy"
      Lint.lint(copy.graph)
      assert.strictEqual(printout(gm), before)
      Lint.lint(gm.graph)
    },
    options
  )
})
