/**
 * Node naming against torch.fx 2.11's `_Namespace.create_name` and `Graph._target_to_str`
 * (spec §4.1 and Appendix A.7: every expected name below is fx's).
 */
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { Graph } from "../../src/graph/Graph.ts"
import * as Namespace from "../../src/graph/Namespace.ts"
import { assertGraphError, names } from "../utils/GraphBuilder.ts"

const ADD = "torch.ops.aten.add.Tensor"

// Appendix A.7's 196 `_illegal_names` of torch 2.11 (Python 3.12).
const ILLEGAL_196 = (
  "ArithmeticError AssertionError AttributeError BaseException BaseExceptionGroup BlockingIOError " +
  "BrokenPipeError BufferError BytesWarning ChildProcessError ConnectionAbortedError ConnectionError " +
  "ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError Ellipsis EncodingWarning " +
  "EnvironmentError Exception ExceptionGroup False FileExistsError FileNotFoundError FloatingPointError " +
  "FutureWarning GeneratorExit IOError ImportError ImportWarning IndentationError IndexError InterruptedError " +
  "IsADirectoryError KeyError KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError None " +
  "NoneType NotADirectoryError NotImplemented NotImplementedError OSError OverflowError " +
  "PendingDeprecationWarning PermissionError ProcessLookupError RecursionError ReferenceError ResourceWarning " +
  "RuntimeError RuntimeWarning StopAsyncIteration StopIteration SyntaxError SyntaxWarning SystemError SystemExit " +
  "TabError TimeoutError True TypeError UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError " +
  "UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning ZeroDivisionError __build_class__ " +
  "__debug__ __doc__ __import__ __loader__ __name__ __package__ __spec__ abs aiter all and anext any as ascii " +
  "assert async await bin bool break breakpoint bytearray bytes callable chr class classmethod compile complex " +
  "continue copyright credits def del delattr device dict dir divmod elif else enumerate eval except exec exit " +
  "filter finally float for format from frozenset fx_pytree getattr global globals hasattr hash help hex id if " +
  "import in inf input int is isinstance issubclass iter lambda len license list locals map max memoryview min " +
  "nan next nonlocal not object oct open or ord pass pow print property pytree quit raise range repr return " +
  "reversed round set setattr slice sorted staticmethod str sum super torch try tuple type vars while with yield " +
  "zip"
).split(" ")

/** Creates one name per candidate in a fresh namespace. */
const sequence = (candidates: ReadonlyArray<string>): Array<string> => {
  const ns = Namespace.make()
  return candidates.map((c) => Namespace.createName(ns, c))
}

describe("Namespace: A.7 sequences", () => {
  it("placeholders created one after another in one graph", () => {
    // [candidate (= target), expected node name], in creation order.
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["x", "x"], ["x", "x_1"], ["x", "x_2"], ["input", "input_1"], ["add_1", "add_1"], ["add", "add"],
      ["add", "add_2"], ["add_1", "add_3"], ["1abc", "_1abc"], ["a.b", "a_b"], ["a..b", "a_b_1"], ["", "_unnamed"],
      ["foo__1", "foo__1"], ["_1", "_1"], ["__1", "__1"], ["sum", "sum_1"], ["__x__", "x_3"], ["myInput", "my_input"],
      ["HTTPServer", "httpserver"], ["inf", "inf_1"], ["torch", "torch_1"], ["x_0", "x_0"], ["x_01", "x_01"],
      ["x", "x_4"], ["self", "self"], ["getitem", "getitem"], ["a-b c", "a_b_c"], ["___", "_unnamed_1"],
      ["x_1_2", "x_1_2"]
    ]
    const g = new Graph()
    const nodes = cases.map(([c]) => g.placeholder(c))
    assert.deepStrictEqual(nodes.map((n) => n.name), cases.map(([, e]) => e))
    // The target always stays the candidate.
    assert.deepStrictEqual(nodes.map((n) => n.target), cases.map(([c]) => c))
    assert.deepStrictEqual(nodes.map((n) => n.op), cases.map(() => "placeholder"))
  })

  it("call_function with and without name in a second graph, then get_attr, call_module, call_method, output", () => {
    const g = new Graph()
    assert.strictEqual(g.placeholder("x").name, "x")
    const withName = ["add", "add", "add_5", "add", "add_5", "add_3", "add", "x", "input", "mul.Tensor", "getitem", "getitem"]
    assert.deepStrictEqual(
      withName.map((name) => g.callFunction(ADD, [], {}, { name }).name),
      ["add", "add_1", "add_5", "add_6", "add_2", "add_3", "add_4", "x_1", "input_1", "mul_Tensor", "getitem", "getitem_1"]
    )
    assert.strictEqual(g.callFunction(ADD).name, "add_tensor")
    assert.strictEqual(g.callFunction("_operator.getitem").name, "getitem_2")
    assert.strictEqual(g.callFunction("_operator.getitem").name, "getitem_3")
    const conv = g.getAttr("conv.weight")
    assert.strictEqual(conv.name, "conv_weight")
    assert.strictEqual(conv.target, "conv.weight")
    assert.strictEqual(g.getAttr("_run_on_acc_0_engine").name, "_run_on_acc_0_engine")
    assert.strictEqual(g.getAttr("_run_on_acc_0_engine").name, "_run_on_acc_0_engine_1")
    assert.strictEqual(g.callModule("_run_on_gpu_0").name, "_run_on_gpu_0")
    assert.strictEqual(g.callMethod("relu").name, "relu")
    const out = g.output(null)
    assert.strictEqual(out.name, "output")
    assert.strictEqual(out.target, "output")
    assert.strictEqual(g.size, 22)
  })

  it("names derived from call_function targets (§4.1 examples)", () => {
    const g = new Graph()
    assert.strictEqual(g.callFunction(ADD).name, "add_tensor")
    assert.strictEqual(g.callFunction("torch.ops.tensorrt.execute_engine.default").name, "execute_engine_default")
    assert.deepStrictEqual(
      [0, 1, 2].map(() => g.callFunction("_operator.getitem").name),
      ["getitem", "getitem_1", "getitem_2"]
    )
    // `name` is used as is: no snake-casing.
    assert.strictEqual(g.callFunction(ADD, [], {}, { name: "myAdd" }).name, "myAdd")
    // Without `name`, the target's name is snake-cased.
    assert.strictEqual(g.callMethod("myMethod").name, "my_method")
  })

  it("placeholder collision keeps the target and suffixes the node name", () => {
    const g = new Graph()
    const a = g.placeholder("x")
    const b = g.placeholder("x")
    assert.deepStrictEqual([a.name, a.target, b.name, b.target], ["x", "x", "x_1", "x"])
  })

  it("the §4.1 verified sequences", () => {
    assert.deepStrictEqual(sequence(["x", "x", "x"]), ["x", "x_1", "x_2"])
    for (const c of ["input", "sum", "inf", "torch"]) assert.deepStrictEqual(sequence([c]), [`${c}_1`])
    assert.deepStrictEqual(
      sequence(["add", "add", "add_5", "add", "add_5", "add_3", "add"]),
      ["add", "add_1", "add_5", "add_6", "add_2", "add_3", "add_4"]
    )
    assert.deepStrictEqual(sequence(["add_1", "add", "add_2", "add_1"]), ["add_1", "add", "add_2", "add_3"])
    assert.deepStrictEqual(sequence(["1abc"]), ["_1abc"])
    assert.deepStrictEqual(sequence(["a.b"]), ["a_b"])
    assert.deepStrictEqual(sequence(["a_b", "a..b"]), ["a_b", "a_b_1"])
    assert.deepStrictEqual(sequence([""]), ["_unnamed"])
    assert.deepStrictEqual(sequence(["a-b c"]), ["a_b_c"])
    const unchanged = ["foo__1", "_1", "__1", "x_0", "x_01", "x_1_2", "self", "getitem"]
    for (const c of unchanged) assert.deepStrictEqual(sequence([c]), [c])
  })
})

describe("Namespace: ILLEGAL_NAMES", () => {
  it("every one of A.7's 196 names is suffixed with _1, except None", () => {
    assert.strictEqual(ILLEGAL_196.length, 196)
    const g = new Graph()
    const got = ILLEGAL_196.map((name) => g.callFunction(ADD, [], {}, { name }).name)
    assert.deepStrictEqual(got, ILLEGAL_196.map((n) => (n === "None" ? "None" : `${n}_1`)))
  })

  it("the exported set holds exactly those names, None excepted", () => {
    assert.deepStrictEqual([...Namespace.ILLEGAL_NAMES].sort(), ILLEGAL_196.filter((n) => n !== "None").sort())
  })

  it("None is not suffixed, but is still made unique", () => {
    assert.deepStrictEqual(sequence(["None", "None", "None"]), ["None", "None_1", "None_2"])
  })

  it("a suffixed illegal name keeps counting from its base", () => {
    assert.deepStrictEqual(sequence(["input", "input", "input_1", "input"]), ["input_1", "input_2", "input_3", "input_4"])
  })

  it("a dunder placeholder target loses its underscores before the check", () => {
    // `__name__` as a target is stripped to `name`, which is legal; as a given name it is illegal.
    const g = new Graph()
    assert.strictEqual(g.placeholder("__name__").name, "name")
    assert.strictEqual(g.callFunction(ADD, [], {}, { name: "__name__" }).name, "__name___1")
  })
})

describe("Namespace: names are never released", () => {
  it("erasing a and creating a again gives a_1", () => {
    const g = new Graph()
    const a = g.placeholder("a")
    g.eraseNode(a)
    assert.isTrue(g.isNameUsed("a"))
    assert.strictEqual(g.placeholder("a").name, "a_1")
    assert.deepStrictEqual(names(g), ["a_1"])
  })

  it("erasing a call_function frees nothing either", () => {
    const g = new Graph()
    const x = g.placeholder("x")
    const add = g.callFunction(ADD, [x, x], {}, { name: "add" })
    g.eraseNode(add)
    assert.strictEqual(g.callFunction(ADD, [x, x], {}, { name: "add" }).name, "add_1")
  })
})

describe("Namespace: renameNode (fx's node._rename)", () => {
  it("renames through the namespace; creating the new name again gives _1", () => {
    const g = new Graph()
    const x = g.placeholder("x")
    assert.strictEqual(g.renameNode(x, "newname"), "newname")
    assert.strictEqual(x.name, "newname")
    assert.strictEqual(x.target, "x")
    assert.strictEqual(g.placeholder("newname").name, "newname_1")
  })

  it("the old name stays used", () => {
    const g = new Graph()
    const x = g.placeholder("x")
    g.renameNode(x, "y")
    assert.isTrue(g.isNameUsed("x"))
    assert.strictEqual(g.placeholder("x").name, "x_1")
  })

  it("a taken or illegal candidate is suffixed", () => {
    const g = new Graph()
    const a = g.placeholder("a")
    const b = g.placeholder("b")
    assert.strictEqual(g.renameNode(b, "a"), "a_1")
    assert.strictEqual(g.renameNode(a, "input"), "input_1")
    assert.strictEqual(g.renameNode(a, "a.b"), "a_b")
    assert.deepStrictEqual(names(g), ["a_b", "a_1"])
  })

  it("renaming to the current name changes nothing", () => {
    const g = new Graph()
    const x = g.placeholder("x")
    assert.strictEqual(g.renameNode(x, "x"), "x")
    assert.strictEqual(x.name, "x")
    assert.strictEqual(g.placeholder("x").name, "x_1")
  })

  it("refuses a node of another graph or an erased node", () => {
    const g = new Graph()
    const other = new Graph().placeholder("o")
    assertGraphError(() => g.renameNode(other, "p"), { fault: "WrongGraph", node: "o" })
    assert.isFalse(g.isNameUsed("p"))
    const x = g.placeholder("x")
    g.eraseNode(x)
    assertGraphError(() => g.renameNode(x, "q"), { fault: "ErasedNode", node: "x" })
  })
})

describe("Namespace: direct assignment and exact names", () => {
  it("a name assigned directly bypasses the namespace (fx's node.name = 'zzz')", () => {
    // trtx has no public setter; `_name` is the internal field that fx's direct assignment corresponds to.
    const g = new Graph()
    const x = g.placeholder("x")
    x._name = "zzz"
    assert.strictEqual(g.placeholder("zzz").name, "zzz")
    // ...and "x" stays used.
    assert.strictEqual(g.placeholder("x").name, "x_1")
  })

  it("exactName takes a free name as is, even one fx would suffix", () => {
    const g = new Graph()
    const n = g.placeholder("input")
    assert.strictEqual(n.name, "input_1")
    const m = g.createNode("placeholder", "input", [], {}, { name: "input", exactName: true })
    assert.strictEqual(m.name, "input")
    assert.isTrue(g.isNameUsed("input"))
  })

  it("exactName refuses a used name and changes nothing (the API cannot make duplicate names)", () => {
    const g = new Graph()
    g.placeholder("x")
    assertGraphError(() => g.createNode("placeholder", "x", [], {}, { name: "x", exactName: true }), {
      fault: "InvalidArgument",
      detail: "Name x is already used in this graph",
      node: "x"
    })
    assert.strictEqual(g.size, 1)
    assert.deepStrictEqual(names(g), ["x"])
  })

  it("exact names that fx would keep count like created ones", () => {
    const g = new Graph()
    g.createNode("call_function", ADD, [], {}, { name: "add_5", exactName: true })
    assert.strictEqual(g.callFunction(ADD, [], {}, { name: "add" }).name, "add")
    assert.strictEqual(g.callFunction(ADD, [], {}, { name: "add" }).name, "add_6")
  })
})

describe("Namespace: candidateFor / snakeCase", () => {
  it("derives fx's candidates", () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ["placeholder", "myInput", "my_input"],
      ["placeholder", "HTTPServer", "httpserver"],
      ["placeholder", "__x__", "x"],
      ["placeholder", "___", ""],
      ["call_function", ADD, "add.tensor"],
      ["call_function", "torch.ops.tensorrt.execute_engine.default", "execute_engine.default"],
      ["call_function", "_operator.getitem", "getitem"],
      ["get_attr", "conv.weight", "conv.weight"],
      ["call_module", "_run_on_gpu_0", "_run_on_gpu_0"],
      ["call_method", "relu", "relu"],
      ["output", "output", "output"]
    ]
    for (const [op, target, expected] of cases) assert.strictEqual(Namespace.candidateFor(op, target), expected, `${op} ${target}`)
  })

  it("snake-cases only capitals after a lower-case letter", () => {
    assert.strictEqual(Namespace.snakeCase("myInputTensor"), "my_input_tensor")
    assert.strictEqual(Namespace.snakeCase("HTTPServer"), "httpserver")
    assert.strictEqual(Namespace.snakeCase("add.Tensor"), "add.tensor")
    assert.strictEqual(Namespace.snakeCase("x1Y"), "x1y")
  })
})

// §4.1's pseudocode of `create_name`, transcribed with regexes and plain sets: the model the allocation-free
// implementation must agree with on every sequence. Counts are exact at any size, as Python's integers are.
const model = () => {
  const used = new Set<string>()
  const baseCount = new Map<string, bigint>()
  const NAME_RE = /^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$/
  const illegal = new Set(Namespace.ILLEGAL_NAMES)
  const derive = (candidate: string) => {
    let cand = candidate
    let m = NAME_RE.exec(cand)
    if (m === null) {
      cand = cand.replace(/[^0-9a-zA-Z_]+/g, "_")
      if (cand === "") cand = "_unnamed"
      if (/^[0-9]/.test(cand)) cand = `_${cand}`
      m = NAME_RE.exec(cand)!
    }
    const base = m[1]!
    let num: bigint
    if (m[2] === undefined || used.has(cand)) {
      num = baseCount.get(cand) ?? 0n
      if (illegal.has(cand)) {
        num += 1n
        cand = `${base}_${num}`
      }
    } else {
      num = BigInt(m[2])
    }
    while (used.has(cand)) {
      num += 1n
      cand = `${base}_${num}`
    }
    return { cand, base, num }
  }
  return {
    createName: (candidate: string): string => {
      const { base, cand, num } = derive(candidate)
      used.add(cand)
      baseCount.set(base, num)
      return cand
    },
    takeExact: (name: string): boolean => {
      if (used.has(name)) return false
      const { base, cand, num } = derive(name)
      used.add(name)
      if (cand === name) baseCount.set(base, num)
      return true
    }
  }
}

const Candidate = Schema.Literals([
  "add", "add", "add_1", "add_2", "add_5", "add_05", "x", "x_0", "x_01", "a_", "a__1", "_", "__1", "_1", "1abc",
  "a-b", "a--b_3", "", "input", "input_1", "None", "sum", "getitem", "getitem_1", "getitem_123456789012345678",
  `b_${2 ** 22}`, `b_${2 ** 22 + 1}`, "b", "b_4194303", "y", "y_999999999999999", "y_1000000000000000",
  "y_9007199254740993", "y_0000000000000000000001", `y_${"9".repeat(400)}`
])
const Step = Schema.Struct({ candidate: Candidate, exact: Schema.Boolean })

describe("Namespace: agrees with §4.1's create_name", () => {
  it.prop("createName and takeExact give the model's names on random sequences", { steps: Schema.Array(Step) }, ({ steps }) => {
    const ns = Namespace.make()
    const m = model()
    for (const { candidate, exact } of steps) {
      if (exact) assert.strictEqual(Namespace.takeExact(ns, candidate), m.takeExact(candidate), `takeExact ${candidate}`)
      else assert.strictEqual(Namespace.createName(ns, candidate), m.createName(candidate), `createName ${candidate}`)
    }
  })
})

describe("Namespace: snakeCase's shortcut", () => {
  const Text = Schema.String.check(Schema.isMaxLength(12))
  it.prop("equals fx's substitution then lower-casing, on any string", { s: Text }, ({ s }) => {
    assert.strictEqual(Namespace.snakeCase(s), s.replace(/(?<=[a-z])([A-Z])/g, "_$1").toLowerCase())
  })
  it("leaves lower-case names as they are and changes the rest", () => {
    assert.strictEqual(Namespace.snakeCase("getitem_3"), "getitem_3")
    assert.strictEqual(Namespace.snakeCase("addTensor"), "add_tensor")
    assert.strictEqual(Namespace.snakeCase("ÄÖ"), "äö")
    assert.strictEqual(Namespace.candidateFor("call_function", "torch.ops.aten.addMM.default"), "add_mm.default")
    assert.strictEqual(Namespace.candidateFor("call_function", "torch.ops.aten.addMM.default"), "add_mm.default")
  })
})

describe("Namespace: memory follows the names held, whatever their suffixes", () => {
  // Heap and ArrayBuffer bytes (bit sets are typed arrays) that what `f` returns holds: measured after full
  // collections, so that the garbage `f` made (its names, the asserts' messages) is not counted; without
  // them the figure is whatever the collector had not yet reclaimed, and it varied from run to run. One bit
  // set per base sized by its largest suffix would take 512 KiB per base.
  const gc: () => void = (() => {
    v8.setFlagsFromString("--expose-gc")
    return vm.runInNewContext("gc") as () => void
  })()
  const bytesOf = (f: () => unknown): number => {
    gc()
    const before = process.memoryUsage()
    const kept = f()
    gc()
    const after = process.memoryUsage()
    assert.isDefined(kept)
    return after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers
  }

  it("a thousand bases with suffixes near 2^22 and beyond, taken exactly and created past them", () => {
    const bases = 1000
    const bytes = bytesOf(() => {
      const ns = Namespace.make()
      for (let b = 0; b < bases; b++) {
        assert.isTrue(Namespace.takeExact(ns, `n${b}_${2 ** 22 + 1000 * (b + 1)}`))
        // Taken from the top down, so that the base count ends at the lowest and creating the bare name
        // again walks every suffix above it.
        for (let j = 8; j >= 0; j--) assert.isTrue(Namespace.takeExact(ns, `n${b}_${2 ** 22 - 4 + j}`))
        assert.strictEqual(Namespace.createName(ns, `n${b}`), `n${b}`)
        assert.strictEqual(Namespace.createName(ns, `n${b}`), `n${b}_${2 ** 22 + 5}`)
      }
      return ns
    })
    assert.isBelow(bytes, bases * 4096, `${bytes} bytes for ${bases * 12} names`)
  })

  it("suffixes past 2^53 and absurdly long digit strings are exact, consecutive runs included", () => {
    const ns = Namespace.make()
    const huge = "9".repeat(400)
    assert.isTrue(Namespace.takeExact(ns, `z_${huge}`))
    assert.strictEqual(Namespace.createName(ns, "z"), "z")
    // fx: num = 10^400 - 1, then num + 1.
    assert.strictEqual(Namespace.createName(ns, "z"), `z_1${"0".repeat(400)}`)
    assert.strictEqual(Namespace.createName(ns, "z"), `z_1${"0".repeat(399)}1`)
    assert.isTrue(Namespace.takeExact(ns, "w_9007199254740993"))
    assert.strictEqual(Namespace.createName(ns, "w"), "w")
    assert.strictEqual(Namespace.createName(ns, "w"), "w_9007199254740994")
    // 10^15 - 1 is a number, 10^15 is not: the two representations meet without a gap.
    assert.isTrue(Namespace.takeExact(ns, "v_999999999999999"))
    assert.isTrue(Namespace.takeExact(ns, "v_1000000000000000"))
    assert.isTrue(Namespace.takeExact(ns, "v_999999999999998"))
    assert.strictEqual(Namespace.createName(ns, "v"), "v")
    assert.strictEqual(Namespace.createName(ns, "v"), "v_1000000000000001")
    assert.isTrue(Namespace.has(ns, "v_1000000000000000"))
    assert.isFalse(Namespace.has(ns, "v_01000000000000000"))
  })

  it("repeated walks over a long run of huge suffixes stay linear (hints) and small", () => {
    const run = 20_000
    const prefix = "1".repeat(40)
    const q = (i: number) => `q_${prefix}${String(i).padStart(5, "0")}`
    const bytes = bytesOf(() => {
      const ns = Namespace.make()
      for (let i = 0; i < run; i++) assert.isTrue(Namespace.takeExact(ns, q(i)))
      // fx looks the count of a taken candidate up by the whole candidate: `q_7`'s count is the one
      // `q_7_<n>` left, here just below the run, so every `q_7` created walks the run from its start.
      assert.isTrue(Namespace.takeExact(ns, `q_7_${"1".repeat(39)}099999`))
      assert.isTrue(Namespace.takeExact(ns, "q_7"))
      for (let i = 0; i < run; i++) assert.strictEqual(Namespace.createName(ns, "q_7"), q(run + i))
      return ns
    })
    assert.isBelow(bytes, run * 2 * 2048, `${bytes} bytes for ${run * 2} names`)
  })
})
