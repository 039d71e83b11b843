/**
 * Defects instead of located errors: what a reader accepts as opaque JSON must be checked to the type its
 * users trust, so that nothing it lets through fails later with a `TypeError`, a `RangeError`, a bare schema
 * error or an uncaught graph error. Each family edits small valid archives (`test/utils/Hostile.ts`) with a
 * seeded PRNG; every case must end in a result or a located error, and whatever reads must write and read
 * back the same (or be refused by the writer, located).
 *
 * Families: values and state named after JavaScript built-ins (both formats); treespecs that are not JSON,
 * null, of the wrong type or nested thousands deep; node metadata of the wrong JSON types, carried through
 * the exporter and the `.pt2` writer; metadata strings torch would not write; custom metadata nested deep;
 * names reused or duplicated.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Reader from "../../src/archive/pt2/Reader.ts"
import * as Writer from "../../src/archive/pt2/Writer.ts"
import * as Tgm from "../../src/archive/tgm/Tgm.ts"
import * as Exporter from "../../src/passes/Exporter.ts"
import { outcome, Plan, runCases, Tally, timeout } from "../utils/FuzzKit.ts"
import * as H from "../utils/Hostile.ts"
import { builtinNames, nameOf } from "../utils/RandomProgram.ts"
import * as C from "../utils/TgmCraft.ts"

const tally = new Tally("defects fuzz")
const plan = new Plan()

// ===== Built-in names =====

const VALUES = ["mul", "mm", "relu", "x", "p_layer_weight", "b_layer_running", "c_table", "getitem", "getitem_1", "sym_size_int", "mul_1", "add"]
const FQNS = ["layer.weight", "layer.running", "table"]

// A new name: a built-in most of the time, else any hard name, or (rarely) a name the program already has.
const hardName = (r: C.Prng): string =>
  r.next() < 0.6 ? r.pick(builtinNames) : r.next() < 0.9 ? nameOf(r, r.pick(["marker", "integer", "unicode", "long", "suffix"])) : r.pick([...VALUES, ...FQNS])

describe("defects: built-in names", () => {
  const pt2 = plan.family("defects: built-in names (.pt2)", 400)
  it.live(`${pt2} .pt2 values and state renamed to JavaScript built-ins`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      const family = "defects: built-in names (.pt2)"
      yield* runCases(pt2, "builtin-pt2", (label, r) => Effect.gen(function*() {
        const renames: Array<readonly [string, string]> = []
        for (let k = r.int(1, 4); k > 0; k--) renames.push([r.pick([...VALUES, ...FQNS]), hardName(r)])
        // A consistent rename to a name not yet in the program must read, under the new name.
        const taken = new Set([...VALUES, ...FQNS, "var_mean"])
        const fresh = new Set<string>()
        let consistent = true
        for (const [from, to] of renames) {
          if (taken.has(to) || fresh.has(to) || to === from || !taken.has(from)) consistent = false
          taken.delete(from)
          fresh.add(to)
        }
        // Sometimes the first rename reaches the graph only: the signature and the configs name the old one.
        const partial = r.next() < 0.15
        const bytes = H.editPt2(base, (rec) => {
          renames.forEach(([from, to], k) => {
            if (partial && k === 0) {
              rec.model.graph_module.graph = H.renameEverywhere(rec.model.graph_module.graph, from, to)
              return
            }
            rec.model = H.renameEverywhere(rec.model, from, to)
            rec.weights = H.renameEverywhere(rec.weights, from, to)
            rec.constants = H.renameEverywhere(rec.constants, from, to)
          })
        })
        const o = yield* H.pt2Case(tally, family, label, bytes, consistent && !partial ? "ok" : "any")
        if (o._tag === "ok" && consistent && !partial) {
          const names = new Set([...o.value.program.graphModule.graph.nodes()].map((n) => n.name))
          const state = new Set([...o.value.program.stateDict.keys(), ...o.value.program.constants.keys()])
          for (const [from, to] of renames) {
            if (FQNS.includes(from)) assert.isTrue(state.has(to), `${label}: the state ${JSON.stringify(to)} is missing`)
            else if (from !== "add" && from !== "mul_1") assert.isTrue(names.has(to), `${label}: the value ${JSON.stringify(to)} is missing`)
          }
        }
      }))
    }), timeout(60_000))

  const tgm = plan.family("defects: built-in names (.tgm)", 400)
  it.live(`${tgm} .tgm nodes and submodules renamed to JavaScript built-ins`, () =>
    Effect.gen(function*() {
      const base = yield* H.tgmBase("mlp")
      const family = "defects: built-in names (.tgm)"
      yield* runCases(tgm, "builtin-tgm", (label, r) => Effect.gen(function*() {
        // Mostly a built-in, sometimes a name already taken (then any outcome will do).
        const to = r.next() < 0.8 ? r.pick(builtinNames) : r.pick(["_run_on_gpu_1", "x", "gelu", "addmm_1", "output"])
        const what = r.pick(["submodule", "fallback node", "root node"] as const)
        let fresh = true
        const bytes = H.editTgm(base, (m) => {
          const [root, sub] = H.tgmGraphs(m)
          if (what === "submodule") {
            // A submodule renamed, with every call of it.
            const from = r.pick(Object.keys(m.children))
            fresh = !Object.hasOwn(m.children, to)
            H.renameKey(m.children, from, to)
            if (m.children[to].kind === "trt_module") m.children[to].name = to
            for (const n of root!) if (n.target === from) n.target = to
          } else {
            const nodes = what === "fallback node" ? sub! : root!
            const node = r.pick(nodes.filter((n) => n.op !== "output"))
            fresh = !nodes.some((n) => n.name === to)
            H.renameTgmNode(nodes, node.name, to)
          }
        })
        yield* H.tgmCase(tally, family, `${label} (${what} → ${to})`, bytes, fresh ? "ok" : "any")
      }))
    }), timeout(60_000))
})

// ===== Treespecs =====

const short = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 80 ? `${s.slice(0, 60)}…(${s.length} chars)` : s
}

const LEAF = `{"type": null, "context": null, "children_spec": []}`
const deepSpec = (depth: number) =>
  `[1, ${`{"type": "builtins.tuple", "context": "null", "children_spec": [`.repeat(depth)}${LEAF}${"]}".repeat(depth)}]`

// Strings that are not treespecs (torch's treespec_loads refuses each), and values that are not strings.
const notTreespecs: ReadonlyArray<unknown> = [
  "",
  "null",
  "not json",
  "[1]",
  "[2, " + LEAF + "]",
  "[1, {\"type\": 5, \"context\": null, \"children_spec\": []}]",
  "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": \"x\"}]",
  "[1, {\"type\": null, \"context\": null}]",
  "{\"type\": null}",
  "[1, " + LEAF,
  "[1, " + LEAF + "] trailing",
  5,
  true,
  ["[1, " + LEAF + "]"],
  { type: null }
]

describe("defects: treespecs", () => {
  const n = plan.family("defects: treespecs (.pt2)", 400)
  it.live(`${n} .pt2 call signatures with hostile treespecs`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "treespec-pt2", (label, r) => Effect.gen(function*() {
        const which = r.pick(["in_spec", "out_spec"] as const)
        const kind = r.int(0, 10)
        let value: unknown
        let e: H.Expect
        if (kind < 2) {
          // Valid treespecs: x by position or keyword; the outputs as a tuple or a list.
          value = which === "in_spec"
            ? r.pick([
              `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [{"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}]}, {"type": "builtins.dict", "context": "[]", "children_spec": []}]}]`,
              `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [{"type": "builtins.tuple", "context": "null", "children_spec": []}, {"type": "builtins.dict", "context": "[\\"x\\"]", "children_spec": [${LEAF}]}]}]`
            ])
            : r.pick([
              `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}, ${LEAF}, ${LEAF}, ${LEAF}]}]`,
              `[1, {"type": "builtins.list", "context": "null", "children_spec": [${LEAF}, ${LEAF}, ${LEAF}, ${LEAF}]}]`
            ])
          e = "ok"
        } else if (kind < 4) {
          // Nested: a few levels are a treespec; thousands are what torch's recursive loader cannot read.
          const depth = r.next() < 0.02 ? 200_000 : r.pick([2, 10, 100, 999, 3000, 20_000])
          value = deepSpec(depth)
          e = "any"
        } else if (kind < 5) {
          value = null
          e = "error"
        } else {
          value = r.pick(notTreespecs)
          e = "error"
        }
        const bytes = H.editPt2(base, (rec) => {
          rec.model.graph_module.module_call_graph[0].signature[which] = value
        })
        yield* H.pt2Case(tally, "defects: treespecs (.pt2)", `${label} ${which}=${short(value)}`, bytes, e)
      }))
    }), timeout(60_000))

  const m = plan.family("defects: treespecs (.tgm)", 200)
  it.live(`${m} .tgm graphs with hostile treespecs`, () =>
    Effect.gen(function*() {
      const base = yield* H.tgmBase("mlp")
      yield* runCases(m, "treespec-tgm", (label, r) => Effect.gen(function*() {
        const which = r.pick(["in_spec", "out_spec"] as const)
        const kind = r.int(0, 10)
        let value: unknown
        let e: H.Expect
        if (kind < 2) {
          value = r.pick([null, `[1, ${LEAF}]`, `[1, {"type": "builtins.tuple", "context": "null", "children_spec": [${LEAF}]}]`])
          e = "ok"
        } else if (kind < 4) {
          value = deepSpec(r.next() < 0.02 ? 200_000 : r.pick([2, 100, 999, 3000, 20_000]))
          e = "any"
        } else {
          value = r.pick(notTreespecs)
          e = "error"
        }
        const bytes = H.editTgm(base, (mod) => {
          const target = r.next() < 0.7 ? mod : mod.children._run_on_gpu_1
          target.graph[which] = value
        })
        const o = yield* H.tgmCase(tally, "defects: treespecs (.tgm)", `${label} ${which}=${short(value)}`, bytes, e)
        // What reads must export and write (or be refused, located), as `export --cross-compile` would.
        if (o._tag === "ok") yield* exportAndWrite(o.value, label, r.next() < 0.5)
      }))
    }), timeout(60_000))
})

// ===== Metadata of the wrong types =====

// Exports a read module and writes its program: every step a result or a located error.
const exportAndWrite = (module: Parameters<typeof Exporter.exportModule>[0], label: string, cross: boolean) =>
  Effect.gen(function*() {
    const exported = yield* outcome(Exporter.exportModule(module, { crossCompile: cross }), `${label}: export`, { passErrors: true })
    if (exported._tag === "error") return
    const written = yield* outcome(Writer.toBytes(exported.value), `${label}: write`)
    if (written._tag === "error") {
      H.expect(written, `${label}: the exported program must be written or refused as Unserializable`, ["Unserializable"])
      return
    }
    const back = yield* outcome(Reader.readBytes(written.value, label), `${label}: read the written program`)
    H.expect(back, `${label}: trtx wrote what it cannot read`, "ok")
    if (back._tag === "ok") yield* H.roundTripPt2(back.value, label)
  })

const deepJson = (depth: number, leaf: unknown = 1): unknown => {
  let v: unknown = leaf
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v }
  return v
}

const wrongTypes: Readonly<Record<string, ReadonlyArray<() => unknown>>> = {
  torch_fn: [() => 5, () => "linear", () => ({ a: 1 }), () => [1, 2], () => [], () => ["a"], () => ["a", "b", "c"], () => [["a", "b"]], () => ["a;b", "c"], () => true],
  nn_module_stack: [
    () => [],
    () => ["a", "b"],
    () => "L__self__",
    () => 7,
    () => ({ k: "v" }),
    () => ({ k: ["a"] }),
    () => ({ k: [1, 2] }),
    () => ({ k: null }),
    () => ({ k: ["a", "b", "c"] }),
    () => ({ "a;b": ["c", "d"] }),
    () => ({ "a,b": ["c,d", "e"] }),
    () => ({ k: ["a;b", "c"] }),
    () => JSON.parse("{\"__proto__\": [\"a\", \"b\"]}"),
    () => ({ toString: ["a", "b"], constructor: ["c", "d"] })
  ],
  source_fn_stack: [() => ({}), () => "s", () => [1], () => [["a"]], () => [[1, 2]], () => [null], () => [["a;b", "c"]], () => [["a,b", "c"]], () => ({ 0: ["a", "b"] })],
  stack_trace: [() => 5, () => ["x"], () => ({}), () => "\u001b[2J\u001b[Hall good", () => "a".repeat(100_000)],
  custom: [() => deepJson(50), () => deepJson(250), () => deepJson(255), () => [1, 2], () => "s", () => 1e308, () => Array.from({ length: 10_000 }, (_, i) => i), () => JSON.parse("{\"__proto__\": {\"x\": 1}}"), () => ({ "\uE00042": 1, "42": 2 })],
  from_node: [() => 5, () => deepJson(200), () => [{ name: "x", target: "y", graph_id: 1, pass_name: "p", action: "create", from_node: [] }], () => "s"]
}

describe("defects: metadata of the wrong types", () => {
  const n = plan.family("defects: metadata types (.tgm → export → .pt2)", 250)
  it.live(`${n} .tgm node metadata of the wrong JSON types, read, exported and written`, () =>
    Effect.gen(function*() {
      const base = yield* H.tgmBase("mlp")
      yield* runCases(n, "meta-types", (label, r) => Effect.gen(function*() {
        const bytes = H.editTgm(base, (m) => {
          const [, sub] = H.tgmGraphs(m)
          for (let k = r.int(1, 4); k > 0; k--) {
            const node = r.pick(sub!.filter((x) => x.op !== "output"))
            const key = r.pick(Object.keys(wrongTypes))
            node.meta[key] = r.pick(wrongTypes[key]!)()
          }
        })
        const o = yield* H.tgmCase(tally, "defects: metadata types (.tgm → export → .pt2)", label, bytes, "any")
        if (o._tag === "ok") yield* exportAndWrite(o.value, label, r.next() < 0.3)
      }))
    }), timeout(90_000))

  const strings = plan.family("defects: metadata strings (.pt2)", 500)
  it.live(`${strings} .pt2 node metadata strings torch would not write`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      const values: Readonly<Record<string, ReadonlyArray<() => string>>> = {
        nn_module_stack: [() => "", () => "a", () => "a,b", () => "a,b,c,d", () => ";;", () => "a,b,c;", () => "(a,b),c,d", () => "a,[b,c],d", () => "k,p,(t", () => "__proto__,a,b", () => "toString,a,b;constructor,c,d", () => "\uE0001,a,b;1,c,d"],
        source_fn_stack: [() => "a", () => "a,b,c", () => ";", () => "a,b;", () => "__proto__,x"],
        torch_fn: [() => "", () => ";;;", () => "a", () => "a;b;c"],
        custom: [() => "not json", () => "[", () => "NaN", () => "1e999", () => "[".repeat(300) + "]".repeat(300), () => "[".repeat(5000) + "]".repeat(5000), () => "[".repeat(200_000) + "]".repeat(200_000), () => "{\"__proto__\": 1}", () => "\"\\ue00042\"", () => "{\"\\ue00042\": 1, \"42\": 2}", () => "null", () => "\"\""],
        from_node: [() => "{", () => "[".repeat(100_000) + "]".repeat(100_000), () => "[]"],
        stack_trace: [() => "", () => "\u0000", () => "\u001b]0;title\u0007"],
        unknown_key: [() => "x"]
      }
      yield* runCases(strings, "meta-strings", (label, r) => Effect.gen(function*() {
        const bytes = H.editPt2(base, (rec) => {
          for (let k = r.int(1, 3); k > 0; k--) {
            const node = r.pick(rec.model.graph_module.graph.nodes as Array<C.Json>)
            const key = r.pick(Object.keys(values))
            node.metadata[key] = r.pick(values[key]!)()
          }
        })
        yield* H.pt2Case(tally, "defects: metadata strings (.pt2)", label, bytes, "any")
      }))
    }), timeout(90_000))
})

// ===== Deep custom metadata =====

describe("defects: deep custom metadata", () => {
  const n = plan.family("defects: deep custom metadata (writers)", 120)
  it.live(`${n} programs and modules whose custom metadata nests deep: written and read back, or refused, located`, () =>
    Effect.gen(function*() {
      yield* runCases(n, "deep-custom", (label, r, i) =>
        Effect.gen(function*() {
          const depth = r.pick([10, 100, 254, 255, 256, 300, 1000, 10_000, 100_000])
          const shown = `${label} (depth ${depth})`
          if (i % 2 === 0) {
            const ep = H.baseProgram()
            const node = r.pick([...ep.graphModule.graph.nodes()].filter((x) => x.op === "call_function"))
            node.meta.custom = deepJson(depth) as never
            const w = yield* outcome(Writer.toBytes(ep), `${shown}: write`)
            tally.count("defects: deep custom metadata (writers)", w)
            if (w._tag === "error") return void H.expect(w, `${shown}: refused, located`, ["Unserializable"])
            const back = yield* outcome(Reader.readBytes(w.value, shown), `${shown}: read`, { archive: shown })
            H.expect(back, `${shown}: trtx wrote what it cannot read`, "ok")
            return
          }
          const module = yield* Tgm.readBytes(C.sampleBytes("mlp"))
          const sub = module.children.get("_run_on_gpu_1")
          if (sub?.kind !== "graph_module") return assert.fail("the sample has no fallback graph")
          const node = sub.graph.findNodes("call_function")[0]!
          node.meta.custom = deepJson(depth) as never
          const w = yield* outcome(Tgm.toBytes(module), `${shown}: write`)
          tally.count("defects: deep custom metadata (writers)", w)
          if (w._tag === "error") return void H.expect(w, `${shown}: refused, located`, ["Unserializable", "SchemaMismatch"])
          const back = yield* outcome(Tgm.readBytes(w.value, shown), `${shown}: read`, { archive: shown })
          H.expect(back, `${shown}: trtx wrote what it cannot read`, "ok")
          if (back._tag === "ok") yield* exportAndWrite(back.value, shown, false)
        }))
    }), timeout(60_000))
})

// ===== Names reused or duplicated =====

describe("defects: names reused or duplicated", () => {
  const n = plan.family("defects: duplicate names (.pt2)", 500)
  it.live(`${n} .pt2 programs whose values reuse a name`, () =>
    Effect.gen(function*() {
      const base = yield* H.pt2Base()
      yield* runCases(n, "dup-pt2", (label, r) => Effect.gen(function*() {
        const kind = r.int(0, 5)
        let e: H.Expect = "error"
        const bytes = H.editPt2(base, (rec) => {
          const g = rec.model.graph_module.graph
          const nodes = g.nodes as Array<C.Json>
          const single = nodes.filter((x) => x.outputs.length === 1 && x.outputs[0].as_tensor !== undefined)
          switch (kind) {
            case 0: {
              // A node's output named after an input (its tensor_values entry stays the input's).
              const node = r.pick(single)
              const old = node.outputs[0].as_tensor.name
              node.outputs[0].as_tensor.name = r.pick(["x", "p_layer_weight", "b_layer_running", "c_table"])
              delete g.tensor_values[old]
              break
            }
            case 1: {
              // Two nodes' outputs of one name.
              const [a, b] = [r.pick(single), r.pick(single)]
              if (a === b) {
                e = "ok"
                break
              }
              delete g.tensor_values[b.outputs[0].as_tensor.name]
              b.outputs[0].as_tensor.name = a.outputs[0].as_tensor.name
              break
            }
            case 2: {
              // An input listed twice.
              g.inputs.push(g.inputs[g.inputs.length - 1])
              rec.model.graph_module.signature.input_specs.push(rec.model.graph_module.signature.input_specs.at(-1))
              break
            }
            case 3: {
              // The getitems of the tuple return named alike.
              const vm = nodes.find((x) => x.target === "torch.ops.aten.var_mean.correction")
              vm.outputs[1].as_tensor.name = vm.outputs[0].as_tensor.name
              break
            }
            default: {
              // One value returned twice: valid.
              g.outputs.push(g.outputs[1])
              rec.model.graph_module.signature.output_specs.push(rec.model.graph_module.signature.output_specs[1])
              e = "any"
            }
          }
        })
        yield* H.pt2Case(tally, "defects: duplicate names (.pt2)", label, bytes, e)
      }))
    }), timeout(60_000))

  const m = plan.family("defects: duplicate names (.tgm)", 300)
  it.live(`${m} .tgm graphs whose nodes reuse a name`, () =>
    Effect.gen(function*() {
      const base = yield* H.tgmBase("mlp")
      yield* runCases(m, "dup-tgm", (label, r) => Effect.gen(function*() {
        const bytes = H.editTgm(base, (mod) => {
          const nodes = r.pick(H.tgmGraphs(mod))
          const [a, b] = [r.int(0, nodes.length), r.int(0, nodes.length)]
          if (a === b) nodes.push({ ...nodes[a]!, meta: {} })
          else nodes[b]!.name = nodes[a]!.name
        })
        yield* H.tgmCase(tally, "defects: duplicate names (.tgm)", label, bytes, ["DuplicateName", "DanglingReference", "SchemaMismatch"])
      }))
    }), timeout(60_000))
})

describe("defects: summary", () => {
  it("every family ran its plan", () => tally.assertPlanned(plan.counts))
})

afterAll(() => console.log(tally.lines().join("\n")))
