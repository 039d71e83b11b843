/**
 * Symbolic shapes in `.pt2` archives, one rule of `Serialize.ts`, `Deserialize.ts` and `SymbolicValues.ts`
 * each: sizes as sympy `srepr` with their hints, symbolic values (`sym_size`, `_operator.*`, unbacked
 * symbols), symbolic arguments, range constraints, and the round trip.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Reader from "../../../src/archive/pt2/Reader.ts"
import * as Serialize from "../../../src/archive/pt2/Serialize.ts"
import * as Writer from "../../../src/archive/pt2/Writer.ts"
import * as Argument from "../../../src/graph/Argument.ts"
import type { TensorMeta, Val } from "../../../src/graph/Meta.ts"
import * as Module from "../../../src/graph/Module.ts"
import type { Node } from "../../../src/graph/Node.ts"
import * as ExportedProgram from "../../../src/program/ExportedProgram.ts"
import { rangeConstraints } from "../../../src/passes/ExportSignature.ts"
import { modelJson } from "../../utils/Pt2Json.ts"

const S0 = "Symbol('s0', positive=True, integer=True)"
const U0 = "Symbol('u0', integer=True)"

const meta = (shape: ReadonlyArray<number | string>, stride: ReadonlyArray<number | string>, dtype = "float32"): Val => ({
  tensor: { shape, stride, storage_offset: 0, dtype, device: "cuda:0", requires_grad: false } satisfies TensorMeta
})

/**
 * x: [s0, 8] -> n = sym_size(x, 0) -> m = n * 2 -> v = x.view(m, 4) -> (v, m); plus an unbacked count
 * k = nonzero(x).size(0), asserted >= 0.
 */
const program = () => {
  const gm = new Module.GraphModule()
  const g = gm.graph
  const x = g.placeholder("x", { meta: { val: meta(["s0", 8], [8, 1]) } })
  const n = g.callFunction("torch.ops.aten.sym_size.int", [x, 0], {}, { name: "sym_size_int", meta: { val: { sym_int: "s0" } } })
  const m = g.callFunction("_operator.mul", [n, 2], {}, { name: "mul", meta: { val: { sym_int: "2*s0" } } })
  const v = g.callFunction("torch.ops.aten.view.default", [x, [m, 4]], {}, { name: "view", meta: { val: meta(["2*s0", 4], [4, 1]) } })
  const nz = g.callFunction("torch.ops.aten.nonzero.default", [x], {}, { name: "nonzero", meta: { val: meta(["u0", 2], [2, 1], "int64") } })
  const k = g.callFunction("torch.ops.aten.sym_size.int", [nz, 0], {}, { name: "sym_size_int_1", meta: { val: { sym_int: "u0" } } })
  const ge = g.callFunction("_operator.ge", [k, 0], {}, { name: "ge", meta: { val: { sym_bool: "u0 >= 0" } } })
  g.callFunction("torch.ops.aten._assert_scalar.default", [ge, "Runtime assertion failed for expression u0 >= 0 on node 'ge'"], {}, {
    name: "_assert_scalar_default",
    meta: {}
  })
  g.output(Argument.tuple(v, m))
  gm.symbols = new Map([
    ["s0", { hint: 4, min: 2, max: 64 }],
    ["u0", { hint: null, min: 0, max: null }]
  ])
  return ExportedProgram.make({
    graphModule: gm,
    graphSignature: {
      inputSpecs: [{ _tag: "UserInput", arg: { _tag: "TensorArgument", name: "x" } }],
      outputSpecs: [
        { _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "view" } },
        { _tag: "UserOutput", arg: { _tag: "SymIntArgument", name: "mul" } }
      ]
    },
    stateDict: new Map(),
    constants: new Map(),
    rangeConstraints: Result.getOrThrow(rangeConstraints(gm)),
    moduleCallGraph: []
  })
}

const json = (ep: ExportedProgram.ExportedProgram): any => {
  const r = Serialize.serialize(ep, { archive: "t" })
  if (Result.isFailure(r)) throw r.failure
  return Result.getOrThrow(Serialize.encode(r.success, { archive: "<records>" }))
}

describe("symbolic shapes in .pt2", () => {
  it("sizes are sympy srepr with the hint of the symbols; an unbacked size has none", () => {
    const g = json(program()).graph_module.graph
    assert.deepStrictEqual(g.tensor_values.x.sizes, [{ as_expr: { expr_str: S0, hint: { as_int: 4 } } }, { as_int: 8 }])
    assert.deepStrictEqual(g.tensor_values.view.sizes[0], {
      as_expr: { expr_str: `Mul(Integer(2), ${S0})`, hint: { as_int: 8 } }
    })
    assert.deepStrictEqual(g.tensor_values.nonzero.sizes[0], { as_expr: { expr_str: U0, hint: null } })
  })

  it("symbolic values go to sym_int_values and sym_bool_values, by name", () => {
    const g = json(program()).graph_module.graph
    assert.deepStrictEqual(g.sym_int_values.sym_size_int, { as_expr: { expr_str: S0, hint: { as_int: 4 } } })
    assert.deepStrictEqual(g.sym_int_values.mul, { as_expr: { expr_str: `Mul(Integer(2), ${S0})`, hint: { as_int: 8 } } })
    assert.deepStrictEqual(g.sym_int_values.sym_size_int_1, { as_expr: { expr_str: U0, hint: null } })
    assert.deepStrictEqual(g.sym_bool_values.ge, { as_expr: { expr_str: `GreaterThan(${U0}, Integer(0))`, hint: null } })
  })

  it("a symbolic op's inputs are positional and named by its parameters; its output is its value", () => {
    const nodes = json(program()).graph_module.graph.nodes
    const mul = nodes.find((n: any) => n.name === "mul")
    assert.deepStrictEqual(mul.inputs, [
      { name: "a", arg: { as_sym_int: { as_name: "sym_size_int" } }, kind: 1 },
      { name: "b", arg: { as_int: 2 }, kind: 1 }
    ])
    assert.deepStrictEqual(mul.outputs, [{ as_sym_int: { as_name: "mul" } }])
    const size = nodes.find((n: any) => n.name === "sym_size_int")
    assert.deepStrictEqual(size.inputs.map((i: any) => i.name), ["self", "dim"])
  })

  it("a list mixing symbolic and plain ints is as_sym_ints", () => {
    const view = json(program()).graph_module.graph.nodes.find((n: any) => n.name === "view")
    assert.deepStrictEqual(view.inputs[1], { name: "size", arg: { as_sym_ints: [{ as_name: "mul" }, { as_int: 4 }] }, kind: 1 })
  })

  it("range constraints name every symbol used, unbounded ends null", () => {
    assert.deepStrictEqual(json(program()).range_constraints, { s0: { min_val: 2, max_val: 64 }, u0: { min_val: 0, max_val: null } })
  })

  it.effect("read back, the program has the same texts and symbols, and writes the same bytes", () =>
    Effect.gen(function*() {
      const bytes = yield* Writer.toBytes(program())
      const back = (yield* Reader.readBytes(bytes)).program
      const view = back.graphModule.graph.findNodes("call_function", "torch.ops.aten.view.default")[0]!
      assert.deepStrictEqual((view.meta.val as { tensor: TensorMeta }).tensor.shape, ["2*s0", 4])
      assert.deepStrictEqual(back.graphModule.symbols?.get("s0"), {
        hint: 4,
        min: 2,
        max: 64,
        assumptions: [["positive", true], ["integer", true]]
      })
      assert.deepStrictEqual(back.graphModule.symbols?.get("u0")?.hint, null)
      assert.deepStrictEqual(yield* Writer.toBytes(back), bytes)
    }))

  it.effect("a hint is recovered from an affine expression when the symbol never stands alone", () =>
    Effect.gen(function*() {
      const gm = new Module.GraphModule()
      const x = gm.graph.placeholder("x", { meta: { val: meta(["2*s0 + 1", 8], [8, 1]) } })
      gm.graph.output(Argument.tuple(x))
      gm.symbols = new Map([["s0", { hint: 4, min: 2, max: 64 }]])
      const ep = ExportedProgram.make({
        graphModule: gm,
        graphSignature: {
          inputSpecs: [{ _tag: "UserInput", arg: { _tag: "TensorArgument", name: "x" } }],
          outputSpecs: [{ _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "x" } }]
        },
        stateDict: new Map(),
        constants: new Map(),
        rangeConstraints: Result.getOrThrow(rangeConstraints(gm)),
        moduleCallGraph: []
      })
      const bytes = yield* Writer.toBytes(ep)
      const back = (yield* Reader.readBytes(bytes)).program
      assert.strictEqual(back.graphModule.symbols?.get("s0")?.hint, 4)
      assert.deepStrictEqual(yield* Writer.toBytes(back), bytes)
    }))

  it("a text that is not an expression is refused, located at the node", () => {
    const ep = program()
    const x = ep.graphModule.graph.findNodes("placeholder")[0]!
    x.meta = { val: meta(["s0 +* 2", 8], [8, 1]) }
    const r = Serialize.serialize(ep, { archive: "t" })
    assert.isTrue(Result.isFailure(r))
    if (Result.isFailure(r)) {
      assert.strictEqual(r.failure.fault, "Unserializable")
      assert.strictEqual(r.failure.node, "x")
      assert.include(r.failure.detail, "s0 +* 2")
    }
  })
})

// torch 2.11's own archives (python/tests/make_pt2_fixtures.py): dynamic batch and sequence, derived dims,
// SymInt inputs and outputs, unbacked sizes, cond / while_loop / map, grad and autocast regions, every dtype
// and a complex argument, pytrees, in the training and core-ATen dialects.
const TORCH = path.join(import.meta.dirname, "../../fixtures/pt2/torch")


describe("torch's own archives", () => {
  for (const file of fs.readdirSync(TORCH).filter((f) => f.endsWith(".pt2")).sort()) {
    it.effect(`${file}: read and written back gives torch's model.json, and a byte fixpoint`, () =>
      Effect.gen(function*() {
        const bytes = new Uint8Array(fs.readFileSync(path.join(TORCH, file)))
        const read = yield* Reader.readBytes(bytes, file)
        const written = yield* Writer.toBytes(read.program, { extraFiles: read.extraFiles })
        assert.deepStrictEqual(yield* modelJson(written), yield* modelJson(bytes))
        const again = yield* Reader.readBytes(written, file)
        assert.deepStrictEqual(yield* Writer.toBytes(again.program, { extraFiles: again.extraFiles }), written)
      }))
  }

  it.effect("a dynamic batch comes back as its symbol, with torch's hint, range and assumptions", () =>
    Effect.gen(function*() {
      const { program } = yield* Reader.readFile(path.join(TORCH, "dyn_linear.training.pt2"))
      const x = program.graphModule.graph.findNodes("placeholder").find((n) => n.name === "x")!
      const shape = (x.meta.val as { tensor: TensorMeta }).tensor.shape
      assert.isString(shape[0])
      const symbol = shape[0] as string
      assert.deepStrictEqual(program.rangeConstraints.get(symbol), { min: 2, max: 64 })
      assert.deepStrictEqual(program.graphModule.symbols?.get(symbol), {
        hint: 4,
        min: 2,
        max: 64,
        assumptions: [["positive", true], ["integer", true]]
      })
    }))

  it.effect("a cond's branches come back as graph modules read by get_attr", () =>
    Effect.gen(function*() {
      const { program } = yield* Reader.readFile(path.join(TORCH, "cond.core.pt2"))
      const g = program.graphModule.graph
      const cond = g.findNodes("call_function", "torch.ops.higher_order.cond")[0]!
      const branches = cond.args.filter((a): a is Node => Argument.isNode(a) && a.op === "get_attr")
      assert.strictEqual(branches.length, 2)
      for (const b of branches) assert.strictEqual(program.graphModule.children.get(b.target)?.kind, "graph_module")
    }))
})

describe("names that are JavaScript built-ins", () => {
  it.effect("values named toString, constructor and __proto__ are written, read back and written the same", () =>
    Effect.gen(function*() {
      const gm = new Module.GraphModule()
      const g = gm.graph
      // As a file names it (fx would snake-case the candidate).
      const x = g.createNode("placeholder", "toString", [], {}, { name: "toString", exactName: true, meta: { val: meta([2, 3], [3, 1]) } })
      const y = g.callFunction("torch.ops.aten.relu.default", [x], {}, { name: "constructor", meta: { val: meta([2, 3], [3, 1]) } })
      const z = g.callFunction("torch.ops.aten.neg.default", [y], {}, { name: "__proto__", meta: { val: meta([2, 3], [3, 1]) } })
      g.output(Argument.tuple(z))
      const ep = ExportedProgram.make({
        graphModule: gm,
        graphSignature: {
          inputSpecs: [{ _tag: "UserInput", arg: { _tag: "TensorArgument", name: "toString" } }],
          outputSpecs: [{ _tag: "UserOutput", arg: { _tag: "TensorArgument", name: "__proto__" } }]
        },
        stateDict: new Map(),
        constants: new Map(),
        rangeConstraints: new Map(),
        moduleCallGraph: []
      })
      const bytes = yield* Writer.toBytes(ep)
      const json = yield* modelJson(bytes)
      assert.deepStrictEqual(Object.keys(json.graph_module.graph.tensor_values), ["toString", "constructor", "__proto__"])
      const back = (yield* Reader.readBytes(bytes)).program
      assert.deepStrictEqual([...back.graphModule.graph.nodes()].map((n) => n.name), ["toString", "constructor", "__proto__", "output"])
      assert.deepStrictEqual(yield* Writer.toBytes(back), bytes)
    }))
})
