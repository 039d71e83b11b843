/**
 * Operator schemas: torch's schema strings parse to the expected structure and print back to the very same
 * text; `namedArguments` writes a node's inputs the way torch.export's serializer does (checked against every
 * `call_function` node of the reference programs); malformed text is refused at its offset.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as url from "node:url"
import * as S from "../../src/graph/OpSchema.ts"
import { OpSchemaError } from "../../src/graph/OpSchema.ts"

// ===== Helpers =====

const success = <A, E>(r: Result.Result<A, E>): A => {
  if (Result.isFailure(r)) assert.fail(`expected a success, got ${String((r.failure as any)?.message ?? r.failure)}`)
  return (r as Result.Success<A, E>).success
}
const failure = <A>(r: Result.Result<A, OpSchemaError>): OpSchemaError => {
  assert.isTrue(Result.isFailure(r), "expected a failure")
  return (r as Result.Failure<A, OpSchemaError>).failure
}

const T = (name: string, alias?: S.AliasInfo): S.SchemaType =>
  alias === undefined ? { _tag: "Named", name, args: [] } : { _tag: "Named", name, args: [], alias }
const L = (element: S.SchemaType, size?: number): S.SchemaType =>
  size === undefined ? { _tag: "List", element } : { _tag: "List", element, size }
const O = (element: S.SchemaType): S.SchemaType => ({ _tag: "Optional", element })
const A = (before: Array<string>, isWrite = false, after = before): S.AliasInfo => ({ before, after, isWrite })
const arg = (name: string, type: S.SchemaType, extra: Partial<S.SchemaArgument> = {}): S.SchemaArgument => ({
  name,
  type,
  kwargOnly: false,
  mutable: false,
  ...extra
})

// ===== Schema strings =====

// As `str(op._schema)` prints them (PyTorch 2.x).
const ATEN = [
  "aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor",
  "aten::add.out(Tensor self, Tensor other, *, Scalar alpha=1, Tensor(a!) out) -> Tensor(a!)",
  "aten::add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)",
  "aten::addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor",
  "aten::_native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor)",
  "aten::convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding, SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor",
  "aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)",
  "aten::cat(Tensor[] tensors, int dim=0) -> Tensor",
  "aten::split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]",
  "aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]",
  "aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)",
  "aten::topk.values(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True, *, Tensor(a!) values, Tensor(b!) indices) -> (Tensor(a!) values, Tensor(b!) indices)",
  "aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor",
  "aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None) -> Tensor",
  "aten::empty.memory_format(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor",
  "aten::as_strided(Tensor(a) self, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None) -> Tensor(a)",
  "aten::native_dropout(Tensor input, float p, bool? train) -> (Tensor, Tensor)",
  "aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor",
  "aten::sym_size.int(Tensor self, int dim) -> SymInt",
  "aten::gelu(Tensor self, *, str approximate=\"none\") -> Tensor",
  "aten::atan2(Tensor self, Tensor other) -> Tensor",
  "aten::sin(Tensor self) -> Tensor",
  "aten::cos(Tensor self) -> Tensor",
  "aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, float eps=1.0000000000000001e-05, bool cudnn_enable=True) -> Tensor",
  "aten::native_layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight, Tensor? bias, float eps) -> (Tensor, Tensor, Tensor)",
  "aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor",
  "aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor",
  "aten::max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)",
  "aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)",
  "aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)",
  "aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False) -> Tensor",
  "aten::contiguous(Tensor(a) self, *, MemoryFormat memory_format=0) -> Tensor(a)",
  "aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor",
  "aten::_foreach_add_.List(Tensor(a!)[] self, Tensor[] other, *, Scalar alpha=1) -> ()",
  "aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)",
  "aten::arange.start_step(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor",
  "aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor",
  "aten::bernoulli(Tensor self, *, Generator? generator=None) -> Tensor",
  "aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor",
  "aten::nan_to_num(Tensor self, float? nan=None, float? posinf=None, float? neginf=None) -> Tensor",
  "aten::refine_names(Tensor(a) self, Dimname[] names) -> Tensor(a)",
  "aten::set_.source_Storage(Tensor(a!) self, Storage source) -> Tensor(a!)",
  "aten::record_stream(Tensor(a!) self, Stream s) -> ()",
  "aten::_assert_async.msg(Tensor self, str assert_msg) -> ()",
  "aten::__getitem__.Dict_str(Dict(str, t) self, str key) -> t(*)",
  "aten::items.str(Dict(str, t) self) -> ((str, t)[])",
  "aten::as_tensor(Tensor(a) data, *, ScalarType? dtype=None, Device? device=None) -> Tensor(b|a)",
  "aten::add_.t(t[](a!) self, t[] b) -> t[]",
  "aten::dict.str((str, tVal)[] inputs) -> Dict(str, tVal)",
  "aten::wait(Future(t) self) -> t",
  "aten::format(str self, ...) -> str",
  "aten::item(Tensor self) -> Scalar"
]

// Syntax corners real schemas rarely or never combine this way.
const SYNTAX = [
  "test::pair((float, float) betas, Any x, t y) -> ()",
  "test::union(Union(int, str, Tensor) x) -> Union(int, str, Tensor)",
  "test::engines(__torch__.torch.classes.tensorrt.Engine[] engines, __torch__.torch.classes.tensorrt.Engine? spare=None) -> __torch__.torch.classes.tensorrt.Engine",
  "test::defaults(str a='mean', str b=\"x\\\"y\", float c=-inf, int[] d=[1, -2], complex e=1j, float f=.5) -> Tensor",
  "test::named(Tensor self) -> Tensor out",
  "test::tuple_ret(Tensor self) -> ((Tensor, Tensor))",
  "test::varret(Tensor self) -> ...",
  "test::mixed(Tensor self) -> (Tensor, Tensor[], SymInt, Tensor?)",
  "test::nested(Tensor(a!)?[] x, Dict(str, Tensor)(a) d, SymBool b, SymFloat f, QScheme q) -> Tensor(a -> a|b)"
]

const BUILTIN = [S.EXECUTE_ENGINE_SCHEMA, S.NO_OP_PLACEHOLDER_SCHEMA, S.SCALAR_TENSOR_SCHEMA, S.ITEM_SCHEMA]

// ===== Tests =====

describe("parse and print", () => {
  it("parses every schema and prints it back to the very same text", () => {
    const all = [...ATEN, ...SYNTAX, ...BUILTIN]
    assert.isAtLeast(ATEN.length, 30)
    for (const s of all) {
      const parsed = success(S.parse(s))
      assert.strictEqual(S.print(parsed), s)
      assert.deepStrictEqual(S.parseUnsafe(S.print(parsed)), parsed)
    }
  })

  it("accepts free whitespace and prints the canonical spacing", () => {
    const s = S.parseUnsafe(" aten :: add . Tensor ( Tensor ( a ! ) self ,Tensor  other,*,Scalar alpha = 1 )->Tensor( a! )")
    assert.strictEqual(S.print(s), "aten::add.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)")
    assert.strictEqual(S.print(S.parseUnsafe("test::t(Tensor(a -> a) x) -> ()")), "test::t(Tensor(a) x) -> ()")
  })

  it("add.Tensor in full", () => {
    assert.deepStrictEqual(S.parseUnsafe(ATEN[0]!), {
      namespace: "aten",
      name: "add",
      overload: "Tensor",
      arguments: [
        arg("self", T("Tensor")),
        arg("other", T("Tensor")),
        arg("alpha", T("Scalar"), { kwargOnly: true, default: "1" })
      ],
      returns: [{ type: T("Tensor") }],
      isVararg: false,
      isVarret: false
    })
  })

  it("slice.Tensor: optional SymInts with defaults, an aliasing view", () => {
    const s = S.parseUnsafe(ATEN[6]!)
    assert.deepStrictEqual(s.arguments, [
      arg("self", T("Tensor", A(["a"]))),
      arg("dim", T("int"), { default: "0" }),
      arg("start", O(T("SymInt")), { default: "None" }),
      arg("end", O(T("SymInt")), { default: "None" }),
      arg("step", T("SymInt"), { default: "1" })
    ])
    assert.deepStrictEqual(s.returns, [{ type: T("Tensor", A(["a"])) }])
    assert.isFalse(S.isMutable(s))
  })

  it("max.dim and topk.values: named returns, write aliases on kwarg-only outs", () => {
    const max = S.parseUnsafe(ATEN[10]!)
    assert.deepStrictEqual(max.returns, [{ name: "values", type: T("Tensor") }, { name: "indices", type: T("Tensor") }])
    assert.deepStrictEqual(max.arguments[2], arg("keepdim", T("bool"), { default: "False" }))
    const topk = S.parseUnsafe(ATEN[11]!)
    assert.deepStrictEqual(topk.arguments.slice(5), [
      arg("values", T("Tensor", A(["a"], true)), { kwargOnly: true, mutable: true }),
      arg("indices", T("Tensor", A(["b"], true)), { kwargOnly: true, mutable: true })
    ])
    assert.deepStrictEqual(topk.returns, [
      { name: "values", type: T("Tensor", A(["a"], true)) },
      { name: "indices", type: T("Tensor", A(["b"], true)) }
    ])
    assert.deepStrictEqual(topk.arguments[2], arg("dim", T("int"), { default: "-1" }))
    assert.isTrue(S.isMutable(topk))
  })

  it("split_with_sizes, index.Tensor, sized lists, tuples, generics and custom classes", () => {
    const split = S.parseUnsafe(ATEN[8]!)
    assert.deepStrictEqual(split.arguments[0], arg("self", T("Tensor", A(["a"], false, ["*"]))))
    assert.deepStrictEqual(split.returns, [{ type: L(T("Tensor", A(["a"]))) }])
    assert.deepStrictEqual(S.parseUnsafe(ATEN[12]!).arguments[1], arg("indices", L(O(T("Tensor")))))
    const pool = S.parseUnsafe(ATEN[27]!)
    assert.deepStrictEqual(pool.arguments[2], arg("stride", L(T("int"), 2), { default: "[]" }))
    assert.deepStrictEqual(S.parseUnsafe(ATEN[25]!).arguments[1], arg("dim", O(L(T("int"), 1))))
    assert.deepStrictEqual(S.parseUnsafe(ATEN[45]!).returns, [{
      type: L({ _tag: "Tuple", elements: [T("str"), T("t")] })
    }])
    assert.deepStrictEqual(S.parseUnsafe(ATEN[44]!).arguments[0]!.type, {
      _tag: "Named",
      name: "Dict",
      args: [T("str"), T("t")]
    })
    assert.deepStrictEqual(S.parseUnsafe(ATEN[44]!).returns[0]!.type, T("t", A(["*"])))
    assert.deepStrictEqual(S.parseUnsafe(ATEN[46]!).returns[0]!.type, T("Tensor", A(["b", "a"])))
    const listAlias = S.parseUnsafe(ATEN[47]!).arguments[0]!
    assert.deepStrictEqual(listAlias.type, { _tag: "List", element: T("t"), alias: A(["a"], true) })
    assert.isTrue(listAlias.mutable)
    assert.isTrue(S.parseUnsafe(ATEN[33]!).arguments[0]!.mutable) // Tensor(a!)[]
    assert.deepStrictEqual(S.parseUnsafe(SYNTAX[0]!).arguments.map((a) => a.type), [
      { _tag: "Tuple", elements: [T("float"), T("float")] },
      T("Any"),
      T("t")
    ])
    const engines = S.parseUnsafe(SYNTAX[2]!)
    const engine = T("__torch__.torch.classes.tensorrt.Engine")
    assert.deepStrictEqual(engines.arguments.map((a) => a.type), [L(engine), O(engine)])
    assert.deepStrictEqual(S.parseUnsafe(SYNTAX[3]!).arguments.map((a) => a.default), [
      "'mean'",
      "\"x\\\"y\"",
      "-inf",
      "[1, -2]",
      "1j",
      ".5"
    ])
    assert.deepStrictEqual(S.parseUnsafe(SYNTAX[4]!).returns, [{ name: "out", type: T("Tensor") }])
    assert.deepStrictEqual(S.parseUnsafe(SYNTAX[5]!).returns, [{ type: { _tag: "Tuple", elements: [T("Tensor"), T("Tensor")] } }])
    const varret = S.parseUnsafe(SYNTAX[6]!)
    assert.isTrue(varret.isVarret)
    assert.deepStrictEqual(varret.returns, [])
    assert.isTrue(S.parseUnsafe(ATEN[50]!).isVararg)
    assert.deepStrictEqual(S.parseUnsafe(SYNTAX[8]!).returns[0]!.type, T("Tensor", A(["a"], false, ["a", "b"])))
    assert.strictEqual(S.baseName(S.parseUnsafe(SYNTAX[8]!).arguments[0]!.type), "Tensor")
  })
})

describe("helpers", () => {
  it("targetOf: torch.ops.<ns>.<name>.<overload>, default for the empty overload", () => {
    assert.deepStrictEqual(ATEN.slice(0, 8).map((s) => S.targetOf(S.parseUnsafe(s))), [
      "torch.ops.aten.add.Tensor",
      "torch.ops.aten.add.out",
      "torch.ops.aten.add_.Tensor",
      "torch.ops.aten.addcmul.default",
      "torch.ops.aten._native_batch_norm_legit_no_training.default",
      "torch.ops.aten.convolution.default",
      "torch.ops.aten.slice.Tensor",
      "torch.ops.aten.cat.default"
    ])
  })

  it("isMutable, returnsList, returnShape, argumentNames", () => {
    const p = (s: string) => S.parseUnsafe(s)
    const mutable = ATEN.filter((s) => S.isMutable(p(s))).map((s) => p(s).name + "." + p(s).overload)
    assert.deepStrictEqual(mutable, [
      "add.out",
      "add_.Tensor",
      "topk.values",
      "_foreach_add_.List",
      "copy_.",
      "set_.source_Storage",
      "record_stream.",
      "add_.t"
    ])
    const shapes = (ss: Array<string>) => ss.map((s) => S.returnShape(p(s)))
    assert.deepStrictEqual(shapes([ATEN[0]!, ATEN[4]!, ATEN[8]!, ATEN[33]!, ATEN[10]!, ATEN[18]!, ATEN[47]!]), [
      "single",
      "tuple",
      "list",
      "none",
      "tuple",
      "single",
      "single" // t[] is no Tensor list
    ])
    assert.isTrue(S.returnsList(p(S.EXECUTE_ENGINE_SCHEMA)))
    assert.isFalse(S.returnsList(p(SYNTAX[7]!))) // (Tensor, Tensor[], ...) is a tuple
    assert.isFalse(S.returnsList(p(ATEN[45]!)))
    assert.deepStrictEqual(S.argumentNames(p(ATEN[6]!)), ["self", "dim", "start", "end", "step"])
  })
})

describe("builtin", () => {
  it("holds the four operators trtx writes, by target", () => {
    assert.deepStrictEqual([...S.builtin.keys()], [
      "torch.ops.tensorrt.execute_engine.default",
      "torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default",
      "torch.ops.aten.scalar_tensor.default",
      "torch.ops.aten.item.default"
    ])
    for (const [target, schema] of S.builtin) {
      assert.strictEqual(S.targetOf(schema), target)
      assert.isFalse(S.isMutable(schema))
    }
  })

  it("execute_engine: a Tensor[] and the engine object, returning a Tensor[]", () => {
    const s = S.builtin.get("torch.ops.tensorrt.execute_engine.default")!
    assert.deepStrictEqual(s, {
      namespace: "tensorrt",
      name: "execute_engine",
      overload: "",
      arguments: [
        arg("input_tensors", L(T("Tensor"))),
        arg("engine", T("__torch__.torch.classes.tensorrt.Engine"))
      ],
      returns: [{ type: L(T("Tensor")) }],
      isVararg: false,
      isVarret: false
    })
    assert.strictEqual(S.returnShape(s), "list")
  })

  it("the seed's no-op placeholder: the inputs and ten str record fields", () => {
    const s = S.builtin.get("torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default")!
    assert.deepStrictEqual(S.argumentNames(s), [
      "inputs",
      "abi_version",
      "name",
      "serialized_device_info",
      "serialized_engine",
      "serialized_in_binding_names",
      "serialized_out_binding_names",
      "serialized_hardware_compatible",
      "serialized_metadata",
      "serialized_target_platform",
      "serialized_require_output_allocator"
    ])
    assert.deepStrictEqual(s.arguments.slice(1).map((a) => a.type), Array(10).fill(T("str")))
    assert.isTrue(s.arguments.every((a) => !a.kwargOnly && a.default === undefined))
    assert.isTrue(S.returnsList(s))
  })

  it("scalar_tensor and item", () => {
    const st = S.builtin.get("torch.ops.aten.scalar_tensor.default")!
    assert.deepStrictEqual(st.arguments, [
      arg("s", T("Scalar")),
      arg("dtype", O(T("ScalarType")), { kwargOnly: true, default: "None" }),
      arg("layout", O(T("Layout")), { kwargOnly: true, default: "None" }),
      arg("device", O(T("Device")), { kwargOnly: true, default: "None" }),
      arg("pin_memory", O(T("bool")), { kwargOnly: true, default: "None" })
    ])
    const item = S.builtin.get("torch.ops.aten.item.default")!
    assert.deepStrictEqual(item.returns, [{ type: T("Scalar") }])
    assert.strictEqual(S.returnShape(item), "single")
  })

  it("parseAll builds a registry, later schemas replacing earlier ones", () => {
    const r = success(S.parseAll([ATEN[0]!, ATEN[7]!, "aten::cat(Tensor[] tensors, int dim=1) -> Tensor"]))
    assert.deepStrictEqual([...r.keys()], ["torch.ops.aten.add.Tensor", "torch.ops.aten.cat.default"])
    assert.strictEqual(r.get("torch.ops.aten.cat.default")!.arguments[1]!.default, "1")
    const e = failure(S.parseAll([ATEN[0]!, "aten::bad(", ATEN[1]!]))
    assert.strictEqual(e.schema, "aten::bad(")
  })
})

// torch's deserializer: kind 1 appended to args in order, kind 2 into kwargs.
const rebuild = <V>(named: ReadonlyArray<S.NamedArgument<V>>) => ({
  args: named.filter((n) => n.kind === 1).map((n) => n.value),
  kwargs: Object.fromEntries(named.filter((n) => n.kind === 2).map((n) => [n.name, n.value]))
})
// Python's binding of args/kwargs to schema arguments (what the call means).
const bind = <V>(schema: S.OpSchema, args: ReadonlyArray<V>, kwargs: Readonly<Record<string, V>>) =>
  Object.fromEntries(
    schema.arguments.flatMap((a, i) =>
      a.name in kwargs ? [[a.name, kwargs[a.name]]] : !a.kwargOnly && i < args.length ? [[a.name, args[i]]] : []
    )
  )

describe("namedArguments", () => {
  const add = S.parseUnsafe(ATEN[0]!)
  const slice = S.parseUnsafe(ATEN[6]!)
  const view = (r: Result.Result<Array<S.NamedArgument<unknown>>, OpSchemaError>) =>
    success(r).map((n) => [n.name, n.value, n.kind])

  it("argumentNamed finds each argument of a schema by its name, and nothing else", () => {
    for (const schema of [add, slice]) {
      for (const a of schema.arguments) assert.strictEqual(S.argumentNamed(schema, a.name), a)
      for (const name of ["", "nope", "toString", "__proto__"]) assert.isUndefined(S.argumentNamed(schema, name), name)
    }
  })

  it("positional values are kind 1, kwargs kind 2, defaults not given are omitted", () => {
    assert.deepStrictEqual(view(S.namedArguments<unknown>(add, ["x", "y"], { alpha: 2 })), [
      ["self", "x", 1],
      ["other", "y", 1],
      ["alpha", 2, 2]
    ])
    assert.deepStrictEqual(view(S.namedArguments<unknown>(add, ["x", "y"])), [["self", "x", 1], ["other", "y", 1]])
    // A positional None is written (as_none), never dropped: the sample's slice(x, 0, None, 5)
    assert.deepStrictEqual(view(S.namedArguments<unknown>(slice, ["x", 0, null, 5])), [
      ["self", "x", 1],
      ["dim", 0, 1],
      ["start", null, 1],
      ["end", 5, 1]
    ])
  })

  it("kwargs come out in schema order, whatever their order in the call (a Map works too)", () => {
    assert.deepStrictEqual(view(S.namedArguments<unknown>(slice, ["x"], { step: 2, dim: 1 })), [
      ["self", "x", 1],
      ["dim", 1, 2],
      ["step", 2, 2]
    ])
    assert.deepStrictEqual(view(S.namedArguments<unknown>(slice, [], new Map<string, unknown>([["end", 3], ["self", "x"]]))), [
      ["self", "x", 2],
      ["end", 3, 2]
    ])
  })

  it("the operators trtx writes", () => {
    const ee = S.builtin.get("torch.ops.tensorrt.execute_engine.default")!
    assert.deepStrictEqual(view(S.namedArguments<unknown>(ee, [["x", "y"], "engine"])), [
      ["input_tensors", ["x", "y"], 1],
      ["engine", "engine", 1]
    ])
    const st = S.builtin.get("torch.ops.aten.scalar_tensor.default")!
    assert.deepStrictEqual(view(S.namedArguments<unknown>(st, [3], { device: "cuda:0", dtype: "int64" })), [
      ["s", 3, 1],
      ["dtype", "int64", 2],
      ["device", "cuda:0", 2]
    ])
    const noOp = S.builtin.get("torch.ops.tensorrt.no_op_placeholder_for_execute_engine.default")!
    const record = ["7", "name", "dev", "engine", "in", "out", "0", "meta", "x86", "0"]
    const named = success(S.namedArguments<unknown>(noOp, [["x"], ...record]))
    assert.deepStrictEqual(named.map((n) => n.kind), Array(11).fill(1))
  })

  it("caveat of §2.5: kind 1 arguments are always a gapless prefix, so torch's deserializer rebuilds the call", () => {
    // Every way of calling slice.Tensor: a positional prefix, then any subset of the rest as kwargs.
    const values = ["x", 1, null, 7, 2] as const
    let calls = 0
    for (let k = 0; k <= 5; k++) {
      for (let mask = 0; mask < 1 << (5 - k); mask++) {
        const args = values.slice(0, k)
        const kwargs = Object.fromEntries(
          slice.arguments.slice(k).flatMap((a, j) => (mask & (1 << j) ? [[a.name, values[k + j]]] : []))
        )
        const r = S.namedArguments<unknown>(slice, args, kwargs)
        if (k === 0 && !("self" in kwargs)) {
          assert.strictEqual(failure(r).reason, "MissingArgument")
          continue
        }
        const named = success(r)
        const kinds = named.map((n) => n.kind)
        assert.deepStrictEqual(kinds, [...Array(k).fill(1), ...Array(named.length - k).fill(2)])
        assert.deepStrictEqual(named.slice(0, k).map((n) => n.name), S.argumentNames(slice).slice(0, k))
        const back = rebuild(named)
        assert.deepStrictEqual(bind(slice, back.args, back.kwargs), bind(slice, args, kwargs))
        calls++
      }
    }
    assert.strictEqual(calls, 47)
    // What the caveat warns against: dropping `start` before a later kind 1 `end` rebinds 5 to `start`.
    const gap = rebuild<unknown>([{ name: "self", value: "x", kind: 1 }, { name: "dim", value: 0, kind: 1 }, {
      name: "end",
      value: 5,
      kind: 1
    }])
    assert.deepStrictEqual(bind(slice, gap.args, gap.kwargs), { self: "x", dim: 0, start: 5 })
  })

  it("refuses calls the schema cannot take, located in the printed schema", () => {
    const text = S.print(add)
    const tooMany = failure(S.namedArguments<unknown>(add, ["x", "y", 2]))
    assert.strictEqual(tooMany.reason, "TooManyPositional")
    assert.strictEqual(tooMany.offset, text.indexOf("*, "))
    assert.match(tooMany.detail, /takes 2 positional argument\(s\), got 3/)
    const tooManyNoKw = failure(S.namedArguments<unknown>(S.parseUnsafe(ATEN[20]!), ["x", "y", "z"]))
    assert.strictEqual(tooManyNoKw.offset, ATEN[20]!.indexOf(")"))
    const unknown = failure(S.namedArguments<unknown>(add, ["x", "y"], { beta: 1 }))
    assert.strictEqual(unknown.reason, "UnknownKeyword")
    assert.strictEqual(unknown.offset, text.indexOf(")"))
    assert.match(unknown.detail, /torch\.ops\.aten\.add\.Tensor has no argument 'beta'/)
    const twice = failure(S.namedArguments<unknown>(add, ["x", "y"], { other: "z" }))
    assert.strictEqual(twice.reason, "DuplicateArgument")
    assert.strictEqual(twice.offset, text.indexOf("Tensor other"))
    const missing = failure(S.namedArguments<unknown>(add, ["x"], { alpha: 1 }))
    assert.strictEqual(missing.reason, "MissingArgument")
    assert.strictEqual(missing.offset, text.indexOf("Tensor other"))
    const out = S.parseUnsafe(ATEN[1]!)
    assert.strictEqual(failure(S.namedArguments<unknown>(out, ["x", "y"])).offset, ATEN[1]!.indexOf("Tensor(a!) out"))
    assert.match(missing.message, /^MissingArgument at \d+: [^\n]* in aten::add\.Tensor\([^\n]*$/)
  })
})

describe("what torch's own registry holds", () => {
  it("a lower-case name that is no base type is a type variable (int64_t), and argument names may repeat", () => {
    for (const text of [
      "cuda::_set_device(int64_t val) -> ()",
      "static_runtime::clamp_nan_to_num(Tensor input, Scalar? min, Scalar? max, float? nan, float? posinf, float? posinf) -> Tensor"
    ]) {
      assert.strictEqual(S.print(S.parseUnsafe(text)), text)
    }
  })
})

describe("errors", () => {
  const cases: Array<[string, string | number, RegExp]> = [
    ["", 0, /expected an operator namespace, found end of input/],
    ["add(Tensor self) -> Tensor", 3, /expected '::'/],
    ["aten::add.default(Tensor self) -> Tensor", 10, /'default' is not a legal overload name/],
    ["aten::add.__x(Tensor self) -> Tensor", 10, /not a legal overload name/],
    ["aten::add(Tensor self -> Tensor", "->", /expected '\)'/],
    ["aten::add(Tensor self)", 22, /expected '->', found end of input/],
    ["aten::add(Tensr self) -> Tensor", 10, /unknown type 'Tensr'/],
    ["aten::add(Tensor(a self) -> Tensor", "self", /expected '\)'/],
    ["aten::add(Tensor() self) -> Tensor", 17, /expected an alias set/],
    ["aten::add(Tensor self=) -> Tensor", ")", /expected a default value/],
    ["aten::add(Tensor self) -> Tensor out more", "more", /unexpected "more" after the returns/],
    ["aten::f(str s=\"abc) -> Tensor", 14, /unterminated string/],
    ["aten::f(Dict(str) d) -> Tensor", 8, /Dict takes 2 type argument\(s\), found 1/],
    ["aten::f(__torch__.torch.Engine e) -> Tensor", 8, /__torch__\.torch\.classes\.<namespace>\.<Class>/],
    ["aten::f(int[x] a) -> Tensor", "x", /expected '\]'/],
    ["aten::f(*, *, int a) -> Tensor", 11, /a second '\*'/],
    ["aten::f(..., int a) -> int", 13, /'\.\.\.' must be the last element/],
    ["aten::f(Tensor) -> Tensor", ")", /expected an argument name/],
    ["aten::f(Tensor x) -> (Tensor, ..., Tensor)", 35, /'\.\.\.' must be the last return/],
    ["aten::f(Tensor x) -> Tensor(", 28, /expected an alias set, found end of input/]
  ]

  it.each(cases)("%s", (text, at, detail) => {
    const e = failure(S.parse(text))
    assert.instanceOf(e, OpSchemaError)
    assert.strictEqual(e._tag, "OpSchemaError")
    assert.strictEqual(e.reason, "Syntax")
    assert.strictEqual(e.schema, text)
    assert.strictEqual(e.offset, typeof at === "number" ? at : text.lastIndexOf(at))
    assert.match(e.detail, detail)
  })

  it("the message names the offset and the schema, on one line; parseUnsafe throws the same error", () => {
    const e = failure(S.parse("aten::add(Tensr self) -> Tensor"))
    assert.strictEqual(e.message, "Syntax at 10: unknown type 'Tensr' in aten::add(Tensr self) -> Tensor")
    assert.throws(() => S.parseUnsafe("aten::add(Tensr self) -> Tensor"), /unknown type 'Tensr'/)
  })
})

// ===== Reference programs =====

const samplesDir = nodePath.join(nodePath.dirname(url.fileURLToPath(import.meta.url)), "..", "fixtures", "samples")
const programs = fs.readdirSync(samplesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap(({ name: d }) =>
  fs.readdirSync(nodePath.join(samplesDir, d)).filter((f) => /^ep.*\.json$/.test(f)).map((f) => nodePath.join(d, f))
)

// The aten operators the samples call, as `str(op._schema)` prints them.
const SAMPLE_ATEN = [
  "aten::gelu(Tensor self, *, str approximate=\"none\") -> Tensor",
  "aten::atan2(Tensor self, Tensor other) -> Tensor",
  "aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor",
  "aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)",
  "aten::_native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor)",
  "aten::addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor",
  "aten::sin(Tensor self) -> Tensor",
  "aten::cos(Tensor self) -> Tensor"
]

const callNodes = (x: unknown, out: Array<any> = []): Array<any> => {
  if (Array.isArray(x)) x.forEach((v) => callNodes(v, out))
  else if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>
    if (typeof o.target === "string" && Array.isArray(o.inputs) && Array.isArray(o.outputs)) out.push(o)
    else Object.values(o).forEach((v) => callNodes(v, out))
  }
  return out
}

const isSubsequence = (xs: ReadonlyArray<string>, ys: ReadonlyArray<string>) => {
  let j = 0
  for (const x of xs) {
    while (j < ys.length && ys[j] !== x) j++
    if (j++ >= ys.length) return false
  }
  return true
}

describe("reference programs", () => {
  const schemas = new Map([...S.builtin, ...success(S.parseAll(SAMPLE_ATEN))])

  it("found the samples", () => {
    assert.isAtLeast(programs.length, 14)
  })

  it.each(programs)("%s: every call's inputs are what namedArguments writes; outputs follow the returns", (file) => {
    const nodes = callNodes(JSON.parse(fs.readFileSync(nodePath.join(samplesDir, file), "utf8")).graph_module)
    assert.isAbove(nodes.length, 0)
    for (const node of nodes) {
      const schema = schemas.get(node.target)
      assert.isDefined(schema, `no schema for ${node.target}`)
      const inputs = node.inputs as Array<{ name: string; arg: unknown; kind: 1 | 2 }>
      const names = inputs.map((i) => i.name)
      assert.isTrue(isSubsequence(names, S.argumentNames(schema!)), `${node.target}: ${names}`)
      const args = inputs.filter((i) => i.kind === 1).map((i) => i.arg)
      const kwargs = Object.fromEntries(inputs.filter((i) => i.kind === 2).map((i) => [i.name, i.arg]))
      const named = success(S.namedArguments<unknown>(schema!, args, kwargs))
      assert.deepStrictEqual(named.map((n) => ({ name: n.name, arg: n.value, kind: n.kind })), inputs)
      const outputs = node.outputs as Array<Record<string, unknown>>
      switch (S.returnShape(schema!)) {
        case "list":
          assert.strictEqual(outputs.length, 1)
          assert.isArray(outputs[0]!.as_tensors)
          break
        case "single":
          assert.strictEqual(outputs.length, 1)
          assert.property(outputs[0]!, "as_tensor")
          break
        case "tuple":
          assert.strictEqual(outputs.length, schema!.returns.length)
          break
        case "none":
          assert.strictEqual(outputs.length, 0)
      }
    }
  })
})
