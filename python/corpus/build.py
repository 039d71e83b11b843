#!/usr/bin/env python3
"""Build trtx's conformance corpus: every program of ``models.py`` exported by torch, compiled the way
``torch_tensorrt.dynamo.compile`` does on the stand-in runtime, dumped as a ``.tgm``, exported by the reference
(seed) exporter, and run at its example, smallest and largest input sizes.

For each program ``<name>`` it writes into ``--out``:

- ``<name>.training.pt2``: ``torch.export.export(model, args, kwargs, dynamic_shapes=..., strict=False)``
  (the training dialect), and ``<name>.core.pt2``: its ``run_decompositions()`` (core ATen); both reloaded with
  ``torch.export.load`` and rerun as a check;
- ``<name>.tgm``: the compiled module, by ``python/trtx_dump.py``. Compiling imitates Torch-TensorRT (as
  ``python/examples/make_example.py`` does): ``run_decompositions().module()``, nodes tagged into maximal runs
  ``_run_on_acc_<i>`` (engines) / ``_run_on_gpu_<i>`` (PyTorch fallbacks) in graph order with one shared counter,
  ``split_by_tags``, each acc segment replaced by a stand-in ``TorchTensorRTModule`` whose stub engine declares
  its outputs (``TRTSTUB1 uid=... outs=<dtype>:<dims>``, a dynamic dim as ``iK.D``), the call node's
  ``meta["val"]`` set to the output metas, engines feeding the graph output marked unowned. Which nodes run in
  PyTorch: see :func:`fallback_reason` and :func:`partition`;
- ``<name>.ref.pt2`` / ``<name>.ref_cross.pt2``: the seed exporter's ``export(gm)`` and
  ``export(gm, cross_compile_module=True)``. Where it fails with "Failed to specify persistent flag on BUFFER"
  it is run again with the one-line fix the samples used (``persistent=True`` for BUFFER input specs, by
  wrapping ``InputSpec`` in the seed module's namespace); the manifest says so. Its other failures are
  recorded as findings;
- ``<name>.io.pt``: ``{"name", "device", "cases": [{"label", "values", "args", "kwargs", "eager", "core",
  "compiled"}], "refuse": {"args", "kwargs", "values", "message"} or None}`` with CPU tensors (``torch.load(...,
  weights_only=False)`` with ``models`` importable). ``eager`` is what the training program's ``ep.module()``
  gives, ``core`` what the core program's gives, ``compiled`` what the compiled module gives on the stand-in
  runtime (None, with ``compiled_error``, where it failed). Cases: ``hint`` (the example inputs) and, for
  dynamic programs, ``min`` and ``max`` (every dynamic dim at its range's min, then max, the max clamped to the
  program's ``max_test_size``, derived and equal dims following their roots); ``refuse`` is one size just
  outside a range (max + 1, else min - 1), which ``ep.module()``'s guards refused here;
- ``manifest.json``: per program what was built and checked, every failure with its traceback's last lines,
  the files with sizes and sha256, dynamic dims and ranges, segments, engines, operator schemas, timings.

Each program is built inside its own try/except, each step too: one failure never stops the others. The script
prints progress as it goes, a line per program and a final table, and exits 0 even when programs failed (the
manifest says which); 3 when the runtime cannot be set up, 2 on bad arguments.

Run it on a machine with a CUDA GPU, torch 2.11, a C++ compiler and ninja, from the repository root::

    python3 python/corpus/build.py --reference .device/reference --out OUT [--only NAME,...] [--isolate]

``--isolate`` builds each program in its own process (a crash or a CUDA error then costs one program only).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import hashlib
import json
import operator
import os
import subprocess
import sys
import threading
import time
import warnings
import zipfile
import zlib
from collections import Counter, deque
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
for _path in (PYTHON_DIR, HERE):  # python/: trtx_dump; python/corpus/: models, common
    if _path not in sys.path:
        sys.path.insert(0, _path)

import torch  # noqa: E402
import torch.fx  # noqa: E402
from torch.utils import _pytree as pytree  # noqa: E402

import common  # noqa: E402
import models  # noqa: E402
import trtx_dump  # noqa: E402
from common import log  # noqa: E402

TOOL = "trtx python/corpus/build.py (stand-in runtime)"
MANIFEST = "manifest.json"
ARTIFACTS = (".training.pt2", ".core.pt2", ".tgm", ".ref.pt2", ".ref_cross.pt2", ".io.pt")
REFUSE_LIMIT = 4096  # a max + 1 beyond this is not tried (min - 1 instead)
aten = torch.ops.aten

# Operators whose output sizes depend on data: they run in PyTorch (the size rule below would move most anyway).
DATA_DEPENDENT = {
    "aten.nonzero", "aten.nonzero_static", "aten.item", "aten._local_scalar_dense", "aten.masked_select",
    "aten.unique", "aten._unique", "aten._unique2", "aten.unique_consecutive", "aten.unique_dim",
    "aten.repeat_interleave", "aten.bincount", "aten.argwhere",
}
# Nodes removed before partitioning, as Torch-TensorRT's remove_assert_nodes pass does for this one: tensor
# metadata asserts left by .to() calls, which would otherwise cut engines apart for nothing.
REMOVED_TARGETS = {"aten._assert_tensor_metadata.default"}


# ------------------------------------------------------------------------------------------- steps


@dataclasses.dataclass
class Context:
    out: str
    device: torch.device
    seed: Any  # the seed exporter module
    TorchTensorRTModule: Any
    run_id: str


def new_entry(spec: models.ProgramSpec, run_id: str) -> Dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "covers": list(spec.covers),
        "executed_ops": list(spec.executed_ops),
        "min_block_size": spec.min_block_size,
        "status": "running",
        "run_id": run_id,
        "steps": {},
        "failures": [],
        "findings": [],
        "files": {},
        "timings_s": {},
    }


def attempt(entry: Dict[str, Any], step: str, fn: Callable[[], Any], *, finding: bool = False) -> Tuple[bool, Any]:
    """Runs one step: records success, or the failure with its traceback (a finding where ``finding``: an
    expected failure of the reference, not of this script); returns ``(ok, value)``."""
    t0 = time.perf_counter()
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001 - every failure is recorded, none stops the program's other steps
        entry["steps"][step] = False
        entry["findings" if finding else "failures"].append(common.failure(step, e))
        entry["timings_s"][step] = round(time.perf_counter() - t0, 3)
        log(f"    {step}: {'finding' if finding else 'FAILED'}: {common.error_text(e, 300)}")
        return False, None
    entry["steps"][step] = True
    entry["timings_s"][step] = round(time.perf_counter() - t0, 3)
    log(f"    {step}: ok ({entry['timings_s'][step]:.1f} s)")
    return True, value


def note_file(entry: Dict[str, Any], path: str) -> None:
    entry["files"][os.path.basename(path)] = common.file_record(path)


def call(module: Callable, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    with torch.no_grad():
        out = module(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # an asynchronous CUDA error surfaces in this step, not a later one
    return out


def program_seed(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def qualname(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------------------------------------- dims and cases


def canonical(size: torch.SymInt) -> Any:
    """The sympy expression of a SymInt with the shape environment's replacements applied (symbols found equal
    during tracing become one)."""
    expr = size.node.expr
    try:
        expr = size.node.shape_env.replace(expr)
    except Exception:  # noqa: BLE001 - the raw expression then
        pass
    return expr


def sym_expr(size: Any) -> Any:
    """The canonical sympy expression of a symbolic size, None for a static one."""
    if isinstance(size, torch.SymInt):
        expr = canonical(size)
        return None if getattr(expr, "is_number", False) else expr
    return None


def dim_key(size: Any) -> Any:
    """A size as an int (static) or as its canonical sympy expression (symbolic), for comparing sizes."""
    if isinstance(size, torch.SymInt):
        expr = canonical(size)
        return int(expr) if getattr(expr, "is_number", False) else expr
    return int(size)


def finite_int(x: Any) -> Optional[int]:
    """An int for a finite bound of a value range, None for an infinite one (sympy oo / torch's int_oo)."""
    if x is None:
        return None
    text = str(x)
    if "oo" in text or "inf" in text:
        return None
    try:
        return int(x)
    except (TypeError, ValueError, OverflowError):
        return None


def eval_expr(expr: Any, values: Dict[Any, int]) -> int:
    import sympy

    result = expr.xreplace({s: sympy.Integer(v) for s, v in values.items()})
    if not result.is_number:
        result = sympy.simplify(result)
    return int(result)


@dataclasses.dataclass
class CasePlan:
    spec: Any  # the TreeSpec of (args, kwargs)
    leaves: List[Any]
    paths: List[str]
    dims: List[Dict[str, Any]]  # {"leaf", "path", "dim" (None for an int input), "expr"}
    symbols: Dict[str, Dict[str, Any]]  # name -> {"symbol", "hint", "min", "max", "test_min", "test_max", ...}
    cases: List[Tuple[str, Dict[str, int]]]  # (label, symbol values); the hint case first
    refuse: Optional[Tuple[Dict[str, int], str]]  # (symbol values, description)
    in_spec_matches: bool


def reorder_kwargs(ep: Any, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The kwargs in the order of the exported program's in_spec (torch.export orders them by the signature)."""
    if not kwargs:
        return {}
    try:
        from torch.export._tree_utils import reorder_kwargs as _reorder

        return _reorder(kwargs, ep.call_spec.in_spec)
    except Exception:  # noqa: BLE001 - keep the caller's order
        return dict(kwargs)


def user_input_vals(ep: Any) -> List[Any]:
    """The ``meta["val"]`` of each user input of ``ep`` (a FakeTensor, a SymInt, a constant), in order."""
    from torch.export.graph_signature import InputKind

    placeholders = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    vals = []
    for s in ep.graph_signature.input_specs:
        if s.kind != InputKind.USER_INPUT:
            continue
        node = placeholders.get(getattr(s.arg, "name", None))
        vals.append(node.meta.get("val") if node is not None else getattr(s.arg, "value", None))
    return vals


def flatten_with_paths(tree: Any) -> Tuple[List[Any], List[str], Any]:
    """Leaves, their key paths (``[0][1]``, ``[1]['scale']``) and the treespec; plain indices where a registered
    type has no key-path support."""
    try:
        with_paths, spec = pytree.tree_flatten_with_path(tree)
        return [v for _, v in with_paths], [pytree.keystr(p) for p, _ in with_paths], spec
    except Exception:  # noqa: BLE001
        leaves, spec = pytree.tree_flatten(tree)
        return leaves, [f"leaf {i}" for i in range(len(leaves))], spec


def plan_cases(ep: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any], max_test: int) -> CasePlan:
    """Finds the dynamic dims of the user inputs (from the exported program's placeholders), their symbols,
    ranges (``ep.range_constraints``) and hints, and the symbol values of the hint / min / max cases and of
    the refused input."""
    leaves, paths, spec = flatten_with_paths((tuple(args), dict(kwargs)))
    in_spec_matches = True
    try:
        in_spec_matches = spec == ep.call_spec.in_spec
    except Exception:  # noqa: BLE001
        in_spec_matches = False
    vals = user_input_vals(ep)
    if len(vals) == len(leaves):
        pairs = list(enumerate(vals))
    else:  # constants missing from one side: pair the tensors alone (ints are then taken as static)
        tensor_leaves = [i for i, v in enumerate(leaves) if isinstance(v, torch.Tensor)]
        tensor_vals = [v for v in vals if isinstance(v, torch.Tensor)]
        if len(tensor_leaves) != len(tensor_vals):
            raise RuntimeError(f"{len(leaves)} input leaves ({len(tensor_leaves)} tensors) but {len(vals)} user "
                               f"inputs ({len(tensor_vals)} tensors) in the exported program")
        pairs = list(zip(tensor_leaves, tensor_vals))

    dims: List[Dict[str, Any]] = []
    shape_env = None
    for i, val in pairs:
        leaf = leaves[i]
        if isinstance(leaf, torch.Tensor) and isinstance(val, torch.Tensor):
            if leaf.dim() != val.dim():
                raise RuntimeError(f"input {paths[i]}: rank {leaf.dim()} but the program's input has rank {val.dim()}")
            for d, size in enumerate(val.shape):
                expr = sym_expr(size)
                if expr is not None:
                    dims.append({"leaf": i, "path": paths[i], "dim": d, "expr": expr, "example": int(leaf.shape[d])})
                    shape_env = shape_env or size.node.shape_env
        elif isinstance(leaf, int) and not isinstance(leaf, bool) and isinstance(val, torch.SymInt):
            expr = sym_expr(val)
            if expr is not None:
                dims.append({"leaf": i, "path": paths[i], "dim": None, "expr": expr, "example": int(leaf)})
                shape_env = shape_env or val.node.shape_env

    # Symbols in order of first use; tensor dims before int inputs (the refused input prefers a tensor dim).
    ordered: List[Any] = []
    for d in sorted(dims, key=lambda d: d["dim"] is None):
        for s in sorted(d["expr"].free_symbols, key=str):
            if s not in ordered:
                ordered.append(s)
    ranges = {str(k): v for k, v in ep.range_constraints.items()}
    hints_table = None
    if shape_env is not None:
        hints_table = getattr(shape_env, "backed_var_to_val", None) or getattr(shape_env, "var_to_val", None)
    symbols: Dict[str, Dict[str, Any]] = {}
    for s in ordered:
        vr = ranges.get(str(s))
        if vr is None and shape_env is not None:
            vr = shape_env.var_to_range.get(s)
        lo = finite_int(vr.lower) if vr is not None else None
        hi = finite_int(vr.upper) if vr is not None else None
        hint = None
        if hints_table is not None and s in hints_table:
            hint = int(hints_table[s])
        if hint is None:  # from a dim that is the bare symbol
            hint = next((d["example"] for d in dims if d["expr"] == s), None)
        if hint is None:
            raise RuntimeError(f"no example value for the symbol {s}")
        test_min = lo if lo is not None else hint
        test_max = min(hi, max_test) if hi is not None else max_test
        test_max = max(test_max, test_min)
        symbols[str(s)] = {
            "symbol": s, "hint": hint, "min": lo, "max": hi, "test_min": test_min, "test_max": test_max,
            "clamped": hi is None or hi > max_test,
        }
    hints = {n: info["hint"] for n, info in symbols.items()}
    for d in dims:  # the hints must give back the example sizes, or the min/max inputs would be wrong
        got = eval_expr(d["expr"], _by_symbol(symbols, hints))
        if got != d["example"]:
            raise RuntimeError(f"{d['path']} dim {d['dim']}: {d['expr']} gives {got} at the hints, the example has "
                               f"{d['example']}")

    cases: List[Tuple[str, Dict[str, int]]] = [("hint", hints)]
    refuse = None
    if dims:
        cases.append(("min", {n: info["test_min"] for n, info in symbols.items()}))
        cases.append(("max", {n: info["test_max"] for n, info in symbols.items()}))
        for n, info in symbols.items():
            lo, hi = info["min"], info["max"]
            if hi is not None and hi + 1 <= REFUSE_LIMIT:
                value, how = hi + 1, "max + 1"
            elif lo is not None and lo >= 1:
                value, how = lo - 1, "min - 1"
            else:
                continue
            values = dict(hints, **{n: value})
            if all(eval_expr(d["expr"], _by_symbol(symbols, values)) >= 0 for d in dims):
                refuse = (values, f"{n} = {value} ({how} of [{lo}, {hi}])")
                break
    return CasePlan(spec, leaves, paths, dims, symbols, cases, refuse, in_spec_matches)


def _by_symbol(symbols: Dict[str, Dict[str, Any]], values: Dict[str, int]) -> Dict[Any, int]:
    return {symbols[n]["symbol"]: v for n, v in values.items()}


def resize(t: torch.Tensor, shape: List[int]) -> torch.Tensor:
    """``t`` cut or tiled to ``shape`` dim by dim: the values stay of the example's kind (token ids in range,
    masks with both values)."""
    out = t
    for d, n in enumerate(shape):
        cur = out.shape[d]
        if cur == n:
            continue
        if n < cur:
            out = out.narrow(d, 0, n)
        elif cur == 0:
            raise ValueError(f"cannot grow dim {d} of size 0 to {n}")
        else:
            reps = [1] * out.dim()
            reps[d] = -(-n // cur)
            out = out.repeat(*reps).narrow(d, 0, n)
    return out.clone(memory_format=torch.contiguous_format)


def make_inputs(plan: CasePlan, values: Dict[str, int]) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
    """The inputs with every dynamic dim set from the symbol ``values``."""
    by_symbol = _by_symbol(plan.symbols, values)
    new = list(plan.leaves)
    shapes: Dict[int, List[int]] = {}
    for d in plan.dims:
        size = eval_expr(d["expr"], by_symbol)
        if d["dim"] is None:
            new[d["leaf"]] = size
        else:
            shapes.setdefault(d["leaf"], list(plan.leaves[d["leaf"]].shape))[d["dim"]] = size
    for i, shape in shapes.items():
        new[i] = resize(plan.leaves[i], shape)
    args, kwargs = pytree.tree_unflatten(new, plan.spec)
    return tuple(args), dict(kwargs)


def describe_plan(plan: CasePlan) -> Dict[str, Any]:
    return {
        "dims": [{"input": d["path"], "dim": d["dim"], "size": str(d["expr"])} for d in plan.dims],
        "symbols": {n: {k: v for k, v in info.items() if k != "symbol"} for n, info in plan.symbols.items()},
        "cases": {label: values for label, values in plan.cases},
        "refuse": plan.refuse[1] if plan.refuse else None,
        "in_spec_matches": plan.in_spec_matches,
    }


# ------------------------------------------------------------------------------------------- partitioning


def node_val(n: torch.fx.Node) -> Any:
    """``meta["val"]`` of a node; for a getitem without one, its element of the producer's."""
    if "val" in n.meta:
        return n.meta["val"]
    if n.op == "call_function" and n.target is operator.getitem and isinstance(n.args[0], torch.fx.Node):
        parent = n.args[0].meta.get("val")
        if isinstance(parent, (list, tuple)) and isinstance(n.args[1], int) and n.args[1] < len(parent):
            return parent[n.args[1]]
    return None


def is_getitem_of_call(n: torch.fx.Node) -> bool:
    return (n.op == "call_function" and n.target is operator.getitem and isinstance(n.args[0], torch.fx.Node)
            and n.args[0].op == "call_function")


def tensor_valued(v: Any) -> bool:
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, (list, tuple)) and v:
        return all(isinstance(x, torch.Tensor) or x is None for x in v) and any(isinstance(x, torch.Tensor) for x in v)
    return False


def _leaves(x: Any) -> Iterator[Any]:
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _leaves(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _leaves(y)
    elif isinstance(x, slice):
        yield from _leaves((x.start, x.stop, x.step))
    else:
        yield x


def _resolve(gm: torch.nn.Module, target: str) -> Any:
    obj: Any = gm
    for atom in target.split("."):
        obj = getattr(obj, atom)
    return obj


def op_matcher(ops: Tuple[str, ...]) -> Callable[[Any], Optional[str]]:
    """``torch_executed_ops`` matching: "aten.gelu" (any overload), "aten.gelu.default" (one overload)."""
    names = set()
    for s in ops:
        s = s.strip().replace("::", ".")
        names.add(s[len("torch.ops."):] if s.startswith("torch.ops.") else s)

    def match(target: Any) -> Optional[str]:
        if not isinstance(target, torch._ops.OpOverload):
            return None
        for candidate in (str(target), str(target.overloadpacket)):
            if candidate in names:
                return candidate
        return None

    return match


def target_name(t: Any) -> str:
    if isinstance(t, str):
        return t
    module = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", None) or str(t)
    return f"{module.replace('torch._ops', 'torch.ops')}.{name}" if module else name


def fallback_reason(n: torch.fx.Node, gm: torch.fx.GraphModule, match: Callable[[Any], Optional[str]]) -> Optional[str]:
    """Why a node must run in PyTorch, or None where an engine may run it.

    In PyTorch: the spec's ``torch_executed_ops``; higher-order ops (cond, while_loop, map, ...; the get_attr
    nodes of their subgraphs follow them into the segment); anything that is not an ATen operator
    (``operator.*`` on sizes, ``torch.sym_*``...); data-dependent operators; nodes that produce a non-tensor
    (SymInt / SymBool / SymFloat from ``sym_size``, ``item``, comparisons; None from ``_assert_scalar``,
    ``sym_constrain_range_for_size``) or consume one (a ``view`` with a symbolic size). Stand-in engines take and
    give tensors only."""
    t = n.target
    if isinstance(t, torch._ops.HigherOrderOperator):
        return f"higher-order op {getattr(t, '__name__', None) or t}"
    if not isinstance(t, torch._ops.OpOverload):
        return f"not an ATen operator ({target_name(t)})"
    executed = match(t)
    if executed:
        return f"torch_executed_ops ({executed})"
    if str(t.overloadpacket) in DATA_DEPENDENT:
        return f"data-dependent ({t.overloadpacket})"
    if t.namespace != "aten":
        return f"{t.namespace} operator"
    if "val" not in n.meta:
        return "no meta['val']"
    if not tensor_valued(n.meta["val"]):
        return "produces a non-tensor value"
    for leaf in _leaves((n.args, n.kwargs)):
        if isinstance(leaf, (torch.SymInt, torch.SymFloat, torch.SymBool)):
            return "takes a symbolic scalar argument"
    for x in n.all_input_nodes:
        if x.op == "get_attr":
            if not isinstance(_resolve(gm, x.target), torch.Tensor):
                return "reads a non-tensor attribute"
            continue
        v = node_val(x)
        if not isinstance(v, torch.Tensor):
            return "consumes a non-tensor value (SymInt / SymBool / list)"
        if v.dtype.is_complex:
            return "consumes a complex tensor"
    return None


@dataclasses.dataclass(eq=False)
class Segment:
    kind: str  # "acc" (engine) or "gpu" (PyTorch)
    nodes: List[torch.fx.Node]
    index: int = 0

    @property
    def tag(self) -> str:
        return f"_run_on_{self.kind}_{self.index}"

    def size(self) -> int:
        return sum(1 for n in self.nodes if not is_getitem_of_call(n))


def plan_segments(calls: List[torch.fx.Node], forced: Dict[torch.fx.Node, str]) -> List[Segment]:
    """Maximal runs of one kind in graph order; a getitem joins the segment of the node it reads."""
    segments: List[Segment] = []
    seg_of: Dict[torch.fx.Node, Segment] = {}
    for n in calls:
        if is_getitem_of_call(n) and n.args[0] in seg_of:
            seg = seg_of[n.args[0]]
        else:
            kind = "gpu" if n in forced else "acc"
            if not segments or segments[-1].kind != kind:
                segments.append(Segment(kind, []))
            seg = segments[-1]
        seg.nodes.append(n)
        seg_of[n] = seg
    for i, seg in enumerate(segments):
        seg.index = i
    return segments


def segment_inputs(seg: Segment) -> List[torch.fx.Node]:
    members = set(seg.nodes)
    inputs: List[torch.fx.Node] = []
    for n in seg.nodes:
        for x in n.all_input_nodes:
            if x not in members and x.op != "get_attr" and x not in inputs:
                inputs.append(x)
    return inputs


def segment_outputs(seg: Segment) -> List[torch.fx.Node]:
    members = set(seg.nodes)
    return [n for n in seg.nodes if any(u not in members for u in n.users)]


def engine_problem(seg: Segment) -> Tuple[Optional[str], List[Tuple[torch.fx.Node, str]]]:
    """What keeps an acc segment from being a stand-in engine: (a reason for the whole segment, or per output
    producer a reason). An engine needs a tensor input and an output; its outputs must be floating-point CUDA
    tensors (a stub's made-up integers must not index anything) whose symbolic dims are each exactly the size of
    some engine input along some dim (the stub header can only say ``iK.D``)."""
    inputs, outputs = segment_inputs(seg), segment_outputs(seg)
    if not inputs:
        return "an engine without inputs", []
    if not outputs:
        return "an engine without outputs", []
    available: Set[Any] = set()
    for x in inputs:
        v = node_val(x)
        if not isinstance(v, torch.Tensor):
            return f"an engine input ({x.name}) that is not a tensor", []
        available.update(k for k in map(dim_key, v.shape) if not isinstance(k, int))
    problems = []
    for o in outputs:
        v = node_val(o)
        producer = o.args[0] if is_getitem_of_call(o) else o
        if not isinstance(v, torch.Tensor):
            problems.append((producer, "its output leaves an engine but is not a tensor"))
        elif not v.dtype.is_floating_point:
            problems.append((producer, f"its {str(v.dtype).removeprefix('torch.')} output would leave an engine"))
        elif v.device.type != "cuda":
            problems.append((producer, f"its output on {v.device} would leave an engine"))
        else:
            bad = [k for k in map(dim_key, v.shape) if not isinstance(k, int) and k not in available]
            if bad:
                problems.append((producer, f"its output size {bad[0]} is no engine input's size"))
    return None, problems


def partition(gm: torch.fx.GraphModule, spec: models.ProgramSpec) -> Tuple[List[Segment], Dict[str, Any]]:
    """Tags every call node with its segment; returns the segments and what decided them."""
    match = op_matcher(spec.executed_ops)
    calls = [n for n in gm.graph.nodes if n.op == "call_function"]
    forced: Dict[torch.fx.Node, str] = {}
    matched: Counter = Counter()
    for n in calls:
        if is_getitem_of_call(n):
            continue
        reason = fallback_reason(n, gm, match)
        if reason:
            forced[n] = reason
        m = match(n.target)
        if m:
            matched[m] += 1

    def settle() -> List[Segment]:
        for _ in range(len(calls) + 2):  # each round moves at least one node to PyTorch, or ends
            segments = plan_segments(calls, forced)
            changed = False
            for seg in segments:
                if seg.kind != "acc":
                    continue
                whole, problems = engine_problem(seg)
                if whole:
                    for n in seg.nodes:
                        forced.setdefault(n, whole)
                    changed = True
                for producer, reason in problems:
                    if producer not in forced:
                        forced[producer] = reason
                        changed = True
            if not changed:
                return segments
        raise RuntimeError("partitioning did not settle")

    segments = settle()
    # min_block_size: small engines run in PyTorch, as Torch-TensorRT does; the largest engine always stays.
    acc = [s for s in segments if s.kind == "acc"]
    small = [s for s in acc if s.size() < spec.min_block_size]
    if small and len(small) == len(acc):
        small.remove(max(acc, key=lambda s: s.size()))
    if small:
        for seg in small:
            for n in seg.nodes:
                forced.setdefault(n, f"engine smaller than min_block_size={spec.min_block_size}")
        segments = settle()
    for seg in segments:
        for n in seg.nodes:
            n.tag = seg.tag
    reasons: Counter = Counter(r.split(" (")[0] if r.startswith("torch_executed_ops") else r for r in forced.values())
    info = {
        "executed_ops_matched": dict(matched),
        "executed_ops_unmatched": [op for op in spec.executed_ops if not any(
            m == op.replace("::", ".").removeprefix("torch.ops.") for m in matched)],
        "fallback_reasons": dict(reasons.most_common()),
    }
    return segments, info


# ------------------------------------------------------------------------------------------- compiling


def stub_engine(uid: str, outs: str) -> bytes:
    """A placeholder engine: the stand-in runtime's header declaring the outputs, then filler bytes."""
    header = f"TRTSTUB1 uid={uid} outs={outs}\n".encode()
    filler = b"".join(hashlib.sha256(f"{uid}/{i}".encode()).digest() for i in range(32))
    return header + filler


def header_outputs(tag: str, placeholders: List[torch.fx.Node], vals: List[Any]) -> str:
    """The stub header's ``outs=``: ``<dtype>:<dims>`` per output, a symbolic dim as ``iK.D`` (input K, dim D)."""
    in_dims: Dict[Any, str] = {}
    for k, p in enumerate(placeholders):
        v = p.meta.get("val")
        if isinstance(v, torch.Tensor):
            for j, s in enumerate(v.shape):
                key = dim_key(s)
                if not isinstance(key, int):
                    in_dims.setdefault(key, f"i{k}.{j}")
    specs = []
    for i, v in enumerate(vals):
        if not isinstance(v, torch.Tensor):
            raise RuntimeError(f"{tag}: output {i} has no tensor meta ({type(v).__name__})")
        dims = []
        for s in v.shape:
            key = dim_key(s)
            if isinstance(key, int):
                dims.append(str(key))
            elif key in in_dims:
                dims.append(in_dims[key])
            else:
                raise RuntimeError(f"{tag}: output {i} dim {key} is the size of no engine input")
        specs.append(f"{str(v.dtype).removeprefix('torch.')}:{'x'.join(dims)}")
    return ";".join(specs)


def unlifted_module(ep: Any) -> Tuple[torch.fx.GraphModule, List[str]]:
    """``ep.module()`` without guard checks; removes the guard-check call where torch adds one and the
    tensor-metadata asserts. Returns the module and what was removed."""
    try:
        gm = ep.module(check_guards=False)
    except TypeError:  # a torch without the flag
        gm = ep.module()
    removed: List[str] = []
    for node in list(gm.graph.nodes):
        if node.op == "call_module":
            if "guards" in str(node.target) and not node.users:
                gm.graph.erase_node(node)
                removed.append(f"call_module {node.target}")
                continue
            raise RuntimeError(f"unexpected call_module {node.target} in the exported module")
        if node.op in ("call_method",):
            raise RuntimeError(f"unexpected call_method {node.target} in the exported module")
        if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload) \
                and str(node.target) in REMOVED_TARGETS and not node.users:
            gm.graph.erase_node(node)
            removed.append(str(node.target))
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm, removed


def compile_program(core: Any, spec: models.ProgramSpec, ctx: Context) -> Tuple[torch.fx.GraphModule, Dict[str, Any]]:
    """The imitation of ``torch_tensorrt.dynamo.compile`` on the stand-in runtime."""
    from torch.fx.passes.split_utils import split_by_tags

    gm, removed = unlifted_module(core)
    segments, info = partition(gm, spec)
    tags = [s.tag for s in segments]
    if not tags:
        raise RuntimeError("the graph has no operator node")
    attr_meta = {n.target: n.meta for n in gm.graph.nodes if n.op == "get_attr"}
    split = split_by_tags(gm, tags)
    calls = {n.target: n for n in split.graph.nodes if n.op == "call_module"}
    described = []
    for seg in segments:
        tag = seg.tag
        sub = split.get_submodule(tag)
        # split_by_tags copies get_attr nodes into the segments without their metas; the exporter's inlining
        # carries them into the exported program, so they are copied here.
        for n in sub.graph.nodes:
            if n.op == "get_attr" and not n.meta and n.target in attr_meta:
                n.meta = dict(attr_meta[n.target])
        placeholders = [n for n in sub.graph.nodes if n.op == "placeholder"]
        out = next(n for n in sub.graph.nodes if n.op == "output").args[0]
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        record = {"tag": tag, "kind": seg.kind, "nodes": seg.size(), "inputs": len(placeholders), "outputs": len(outs)}
        if seg.kind == "gpu":
            record["parameters"] = sorted(name for name, _ in sub.named_parameters())
            record["buffers"] = sorted(name for name, _ in sub.named_buffers())
            described.append(record)
            continue
        vals = [node_val(o) if isinstance(o, torch.fx.Node) else None for o in outs]
        outs_header = header_outputs(tag, placeholders, vals)
        engine = stub_engine(f"{spec.name}/{tag}", outs_header)
        trt = ctx.TorchTensorRTModule(
            engine, [p.name for p in placeholders], [f"output{i}" for i in range(len(outs))], name=tag
        )
        setattr(split, tag, trt)
        calls[tag].meta["val"] = vals
        record["header"] = outs_header
        described.append(record)
    # Engines whose outputs are graph outputs hand them over unowned, as Torch-TensorRT marks them.
    output = next(n for n in split.graph.nodes if n.op == "output")
    feeding = set(output.all_input_nodes)
    feeding |= {a.args[0] for a in list(feeding) if a.op == "call_function" and a.target is operator.getitem}
    unowned = []
    for node in feeding:
        if node.op == "call_module" and str(node.target).startswith("_run_on_acc_"):
            split.get_submodule(node.target).set_output_tensors_as_unowned(True)
            unowned.append(node.target)
    split.graph.lint()
    split.recompile()
    engines = [s.tag for s in segments if s.kind == "acc"]
    info.update({
        "root_nodes": len(split.graph.nodes),
        "engines": len(engines),
        "fallbacks": len(segments) - len(engines),
        "segments": described,
        "unowned_engines": sorted(unowned),
        "removed_before_partitioning": removed,
    })
    return split, info


def check_tgm(path: str, engines: int) -> Dict[str, Any]:
    """A light look at the written archive: the entries are there and module.json holds every engine."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        for required in ("format.json", "module.json"):
            if required not in names:
                raise RuntimeError(f"{path}: no {required}")
        module = json.loads(z.read("module.json"))
    count = 0
    stack = [module]
    while stack:
        m = stack.pop()
        if m.get("kind") == "trt_module":
            count += 1
        stack.extend((m.get("children") or {}).values())
    if count != engines:
        raise RuntimeError(f"{path}: {count} trt_module entries, {engines} engines built")
    return {"entries": len(names), "trt_modules": count, "symbols": sorted(module["graph"].get("symbols", {}))}


# ------------------------------------------------------------------------------------------- the seed


@contextlib.contextmanager
def persistent_patch(seed: Any) -> Iterator[None]:
    """The fix the samples used: ``persistent=True`` for BUFFER input specs, by wrapping ``InputSpec`` where the
    seed module looks it up (its own namespace); ``seed_exporter.py`` itself is not touched."""
    from torch.export.graph_signature import InputKind

    original = seed.InputSpec

    def InputSpec(kind: Any, arg: Any, target: Any, persistent: Optional[bool] = None) -> Any:  # noqa: N802
        if kind == InputKind.BUFFER and persistent is None:
            persistent = True
        return original(kind=kind, arg=arg, target=target, persistent=persistent)

    seed.InputSpec = InputSpec
    try:
        yield
    finally:
        seed.InputSpec = original


def seed_export(ctx: Context, gm: torch.fx.GraphModule, cross: bool, path: str, entry: Dict[str, Any],
                hint: Optional[Tuple[Tuple[Any, ...], Dict[str, Any]]], compiled_hint: Any) -> Dict[str, Any]:
    """The seed exporter's program, saved and reloaded, run at the hint and compared with the compiled module.
    Its failures are findings (recorded in the returned record and in the entry's findings)."""
    step = "seed_export_cross" if cross else "seed_export"
    info: Dict[str, Any] = {"ok": False, "persistent_patch": False}
    t0 = time.perf_counter()

    def finding(what: str, e: BaseException) -> None:
        record = common.failure(f"{step}.{what}", e)
        entry["findings"].append(record)
        info[f"{what}_error"] = record["error"]
        log(f"    {step}.{what}: finding: {common.error_text(e, 300)}")

    ep = None
    try:
        ep = ctx.seed.export(gm, cross_compile_module=cross)
    except Exception as e:  # noqa: BLE001
        if common.PERSISTENT_MESSAGE not in f"{e}\n{common.traceback_tail()}":
            finding("export", e)
        else:
            info["persistent_patch"] = True
            info["unpatched_error"] = common.error_text(e)
            try:
                with persistent_patch(ctx.seed):
                    ep = ctx.seed.export(gm, cross_compile_module=cross)
            except Exception as e2:  # noqa: BLE001
                finding("export", e2)
    if ep is not None:
        info["ok"] = True
        info["nodes"] = len(ep.graph.nodes)
        try:
            torch.export.save(ep, path)
            note_file(entry, path)
            info["saved"] = True
        except Exception as e:  # noqa: BLE001
            finding("save", e)
        if info.get("saved"):
            try:
                loaded = torch.export.load(path)
                info["reloads"] = True
                if common.is_cross_compiled(loaded.graph_module):
                    loaded = ctx.seed.replace_execute_engine_no_op_node(loaded)
                if hint is not None and compiled_hint is not None:
                    cmp = common.compare_trees(call(loaded.module(), *hint), compiled_hint)
                    info["hint_matches_compiled"] = cmp["same"]
                    if not cmp["same"]:
                        info["hint_mismatches"] = cmp["mismatches"]
            except Exception as e:  # noqa: BLE001
                finding("reload_run", e)
    entry["steps"][step] = info["ok"]
    entry["timings_s"][step] = round(time.perf_counter() - t0, 3)
    log(f"    {step}: {'ok' if info['ok'] else 'failed (finding)'}{' with the persistent patch' if info['persistent_patch'] else ''}")
    return info


# ------------------------------------------------------------------------------------------- one program


def describe_ep(ep: Any) -> Dict[str, Any]:
    from torch.export.graph_signature import InputKind

    kinds = Counter(s.kind.name for s in ep.graph_signature.input_specs)
    hops = sorted({str(getattr(n.target, "__name__", n.target)) for n in ep.graph.nodes
                   if n.op == "call_function" and isinstance(n.target, torch._ops.HigherOrderOperator)})
    return {
        "nodes": len(ep.graph.nodes),
        "input_kinds": dict(kinds),
        "user_inputs": sum(1 for s in ep.graph_signature.input_specs if s.kind == InputKind.USER_INPUT),
        "outputs": len(ep.graph_signature.output_specs),
        "range_constraints": {str(k): [str(v.lower), str(v.upper)] for k, v in ep.range_constraints.items()},
        "higher_order_ops": hops,
    }


def build_program(spec: models.ProgramSpec, ctx: Context) -> Dict[str, Any]:
    entry = new_entry(spec, ctx.run_id)
    t_start = time.perf_counter()
    path = lambda suffix: os.path.join(ctx.out, spec.name + suffix)  # noqa: E731
    # Files of an earlier build of this program go first: what is in --out is what this build made.
    for suffix in ARTIFACTS:
        if os.path.exists(path(suffix)):
            os.unlink(path(suffix))

    # -- the model and its inputs
    try:
        torch.manual_seed(program_seed(spec.name))
        model = spec.factory(ctx.device).eval()
    except models.SkipProgram as e:
        entry["status"] = "skipped"
        entry["skip_reason"] = str(e)
        log(f"    skipped: {e}")
        return finish(entry, t_start)
    except Exception as e:  # noqa: BLE001
        entry["failures"].append(common.failure("model", e))
        entry["steps"]["model"] = False
        log(f"    model: FAILED: {common.error_text(e, 300)}")
        return finish(entry, t_start)
    entry["steps"]["model"] = True
    entry["model_class"] = qualname(model)
    entry["model_children"] = [qualname(m) for m in model.children()]
    entry["parameters"] = sum(p.numel() for p in model.parameters())
    ok, example = attempt(entry, "inputs", lambda: spec.inputs(ctx.device))
    if not ok:
        return finish(entry, t_start)
    args, kwargs = example

    # -- a. torch.export, both dialects, saved and reloaded
    def export() -> Any:
        ds = spec.dynamic_shapes() if spec.dynamic_shapes is not None else None
        entry["dynamic_shapes"] = repr(ds)
        return torch.export.export(model, tuple(args), dict(kwargs), dynamic_shapes=ds, strict=False)

    ok, ep = attempt(entry, "export", export)
    if not ok:
        return finish(entry, t_start)
    entry["training"] = describe_ep(ep)
    kwargs = reorder_kwargs(ep, kwargs)
    ok, plan = attempt(entry, "plan_cases", lambda: plan_cases(ep, args, kwargs, spec.max_test_size))
    if ok:
        entry["dynamic"] = describe_plan(plan)
    hint = (tuple(args), dict(kwargs))
    ok, eager_mod = attempt(entry, "eager_module", ep.module)
    hint_eager = None
    if ok:
        ok, hint_eager = attempt(entry, "run_eager", lambda: call(eager_mod, *hint))
        if ok:
            entry["outputs"] = common.describe(hint_eager)

    def save_and_reload(ep_: Any, suffix: str, key: str) -> None:
        ok_, _ = attempt(entry, f"save_{key}", lambda: torch.export.save(ep_, path(suffix)))
        if not ok_:
            return
        note_file(entry, path(suffix))

        def reload() -> Dict[str, Any]:
            loaded = torch.export.load(path(suffix))
            result: Dict[str, Any] = {"nodes": len(loaded.graph.nodes)}
            if hint_eager is not None:
                cmp = common.compare_trees(call(loaded.module(), *hint), hint_eager)
                result["hint_matches_eager"] = cmp["same"]
                if not cmp["same"]:  # torch's own round trip: a finding, not a failure of this script
                    result["mismatches"] = cmp["mismatches"]
                    entry["findings"].append({"step": f"reload_{key}", "error": f"the reloaded {key} program's "
                                              f"outputs differ from the exported one's: {cmp['mismatches'][:3]}"})
            return result

        ok_, result = attempt(entry, f"reload_{key}", reload)
        if ok_:
            entry[key]["reload"] = result

    save_and_reload(ep, ".training.pt2", "training")
    ok, core = attempt(entry, "decompose", ep.run_decompositions)
    core_mod = None
    hint_core = None
    if ok:
        entry["core"] = describe_ep(core)
        save_and_reload(core, ".core.pt2", "core")
        ok, core_mod = attempt(entry, "core_module", core.module)
        if ok:
            ok, hint_core = attempt(entry, "run_core", lambda: call(core_mod, *hint))
            if ok and hint_eager is not None:
                cmp = common.compare_trees(hint_core, hint_eager)
                entry["core"]["hint_matches_eager"] = cmp["same"]
                if not cmp["same"]:
                    entry["core"]["mismatches"] = cmp["mismatches"]

    # -- b. compile, c. run and dump
    gm = None
    hint_compiled = None
    if core is not None:
        ok, compiled = attempt(entry, "compile", lambda: compile_program(core, spec, ctx))
        if ok:
            gm, info = compiled
            entry["compiled"] = info
            ok, schemas = attempt(entry, "op_schemas", lambda: trtx_dump.op_schemas(gm))
            if ok:
                entry["op_schemas"] = schemas
            if info["engines"] == 0:
                entry["failures"].append({"step": "compile", "error": "no engine: every node runs in PyTorch",
                                          "traceback": ""})
            log(f"    segments: {', '.join(s['tag'] for s in info['segments'])}")
            ok, hint_compiled = attempt(entry, "run_compiled", lambda: call(gm, *hint))
            if ok and hint_eager is not None:
                # Stand-in engines do no real math: only structure, dtypes and shapes must agree with eager.
                cmp = common.compare_trees(hint_compiled, hint_eager, values=False)
                entry["compiled"]["hint_like_eager"] = cmp["same"]
                if not cmp["same"]:
                    entry["failures"].append({"step": "run_compiled", "error": "the compiled module's outputs differ "
                                              f"from eager in structure, dtype or shape: {cmp['mismatches']}",
                                              "traceback": ""})

            def dump() -> Dict[str, Any]:
                trtx_dump.dump(gm, path(".tgm"), tool=TOOL)
                note_file(entry, path(".tgm"))
                return check_tgm(path(".tgm"), info["engines"])

            ok, tgm = attempt(entry, "dump_tgm", dump)
            if ok:
                entry["tgm"] = tgm

            # -- d. the reference exporter
            seed_hint = hint if hint_compiled is not None else None
            entry["seed"] = {
                "plain": seed_export(ctx, gm, False, path(".ref.pt2"), entry, seed_hint, hint_compiled),
                "cross": seed_export(ctx, gm, True, path(".ref_cross.pt2"), entry, seed_hint, hint_compiled),
            }

    # -- e. inputs and expected outputs
    if eager_mod is not None and hint_eager is not None:  # without a plan (it failed): the hint case alone
        attempt(entry, "io", lambda: write_io(spec, ctx, entry, plan, hint, hint_eager, hint_core, hint_compiled,
                                              eager_mod, core_mod, gm, path(".io.pt")))
    return finish(entry, t_start)


def run_case(label: str, values: Dict[str, int], args: Tuple[Any, ...], kwargs: Dict[str, Any], eager_mod: Any,
             core_mod: Any, gm: Any, known: Optional[Tuple[Any, Any, Any]] = None) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """One case: the outputs of the three modules (``known`` ones reused) and its manifest record."""
    case: Dict[str, Any] = {"label": label, "values": values, "args": common.to_cpu(args),
                            "kwargs": common.to_cpu(kwargs)}
    record: Dict[str, Any] = {"label": label, "values": values, "inputs": common.describe((args, kwargs))}
    eager, core, compiled = known if known is not None else (None, None, None)
    if eager is None:
        eager = call(eager_mod, args, kwargs)
    case["eager"] = common.to_cpu(eager)
    record["eager"] = common.describe(eager)
    for key, module, value in (("core", core_mod, core), ("compiled", gm, compiled)):
        if value is None and module is not None:
            try:
                value = call(module, args, kwargs)
            except Exception as e:  # noqa: BLE001 - recorded; the case keeps its other outputs
                case[f"{key}_error"] = record[f"{key}_error"] = common.error_text(e)
                record[f"{key}_traceback"] = common.traceback_tail()
        case[key] = common.to_cpu(value) if value is not None else None
        if value is not None:
            cmp = common.compare_trees(value, eager, values=(key == "core"))
            record[f"{key}_{'matches' if key == 'core' else 'like'}_eager"] = cmp["same"]
            if not cmp["same"]:
                record[f"{key}_mismatches"] = cmp["mismatches"]
    return case, record


def write_io(spec: models.ProgramSpec, ctx: Context, entry: Dict[str, Any], plan: Optional[CasePlan],
             hint: Tuple[Tuple[Any, ...], Dict[str, Any]], hint_eager: Any, hint_core: Any, hint_compiled: Any,
             eager_mod: Any, core_mod: Any, gm: Any, io_path: str) -> None:
    cases, records = [], []
    for label, values in (plan.cases if plan is not None else [("hint", {})]):
        try:
            if label == "hint":
                args, kwargs = hint
                known = (hint_eager, hint_core, hint_compiled)
            else:
                assert plan is not None
                args, kwargs = make_inputs(plan, values)
                known = None
            case, record = run_case(label, values, args, kwargs, eager_mod, core_mod, gm, known)
        except Exception as e:  # noqa: BLE001 - a case whose eager run fails is left out, and recorded
            entry["failures"].append(common.failure(f"io.{label}", e))
            records.append({"label": label, "values": values, "error": common.error_text(e)})
            log(f"    io.{label}: FAILED: {common.error_text(e, 300)}")
            continue
        cases.append(case)
        records.append(record)
        for key in ("core_error", "compiled_error"):
            if key in record:
                entry["failures"].append({"step": f"io.{label}.{key.split('_')[0]}", "error": record[key],
                                          "traceback": record.get(key.replace("error", "traceback"), "")})
        if record.get("compiled_like_eager") is False:
            entry["failures"].append({"step": f"io.{label}.compiled", "error": "compiled outputs differ from eager in "
                                      f"structure, dtype or shape: {record.get('compiled_mismatches')}", "traceback": ""})
    refuse = None
    planned = plan.refuse if plan is not None else None
    refuse_record: Dict[str, Any] = {"planned": planned[1] if planned else None}
    if plan is not None and planned is not None:
        values, how = planned
        try:
            args, kwargs = make_inputs(plan, values)
            try:
                call(eager_mod, args, kwargs)
                refuse_record["refused"] = False
                entry["findings"].append({"step": "io.refuse", "error": f"ep.module() accepted {how}; no refused "
                                          "input is recorded"})
            except Exception as e:  # noqa: BLE001 - the guards refused it, as expected
                refuse_record["refused"] = True
                refuse_record["message"] = common.error_text(e, 1000)
                refuse = {"args": common.to_cpu(args), "kwargs": common.to_cpu(kwargs), "values": values,
                          "description": how, "message": refuse_record["message"]}
        except Exception as e:  # noqa: BLE001
            entry["failures"].append(common.failure("io.refuse", e))
            refuse_record["error"] = common.error_text(e)
    io = {"name": spec.name, "device": str(ctx.device), "cases": cases, "refuse": refuse}
    torch.save(io, io_path)
    back = torch.load(io_path, weights_only=False)  # the file reads back (pickled pytree types included)
    if [c["label"] for c in back["cases"]] != [c["label"] for c in cases]:
        raise RuntimeError(f"{io_path} does not read back")
    note_file(entry, io_path)
    entry["io"] = {"cases": records, "refuse": refuse_record}
    log(f"    cases: {', '.join(c['label'] for c in cases) or 'none'}; refuse: "
        f"{'yes' if refuse else ('no' if planned else 'n/a')}")


def finish(entry: Dict[str, Any], t_start: float) -> Dict[str, Any]:
    entry["total_s"] = round(time.perf_counter() - t_start, 2)
    if entry["status"] == "skipped":
        return entry
    tgm = entry["name"] + ".tgm"
    if tgm not in entry["files"]:
        entry["status"] = "failed"
    elif entry["failures"]:
        entry["status"] = "partial"
    else:
        entry["status"] = "ok"
    return entry


# ------------------------------------------------------------------------------------------- manifest


def read_manifest(out: str) -> Dict[str, Any]:
    path = os.path.join(out, MANIFEST)
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict) and isinstance(data.get("programs"), dict):
                return data
        except (OSError, ValueError) as e:
            log(f"warning: {path} is unreadable ({e}); starting a new manifest")
    return {"programs": {}}


def write_manifest(out: str, manifest: Dict[str, Any]) -> None:
    """Writes the manifest atomically, programs in the order of models.PROGRAMS, with a summary."""
    order = {p.name: i for i, p in enumerate(models.PROGRAMS)}
    programs = dict(sorted(manifest["programs"].items(), key=lambda kv: order.get(kv[0], len(order))))
    manifest["programs"] = programs
    statuses = Counter(p.get("status") for p in programs.values())
    manifest["summary"] = {
        "programs": len(programs),
        "status": dict(statuses),
        "engines": sum((p.get("compiled") or {}).get("engines", 0) for p in programs.values()),
        "tgm_bytes": sum(f["bytes"] for p in programs.values() for n, f in p.get("files", {}).items() if n.endswith(".tgm")),
        "all_bytes": sum(f["bytes"] for p in programs.values() for f in p.get("files", {}).values()),
        "seed_failures": sorted(p["name"] for p in programs.values()
                                if any(not s.get("ok") for s in (p.get("seed") or {}).values())),
        "persistent_patch": sorted(p["name"] for p in programs.values()
                                   if any(s.get("persistent_patch") for s in (p.get("seed") or {}).values())),
    }
    path = os.path.join(out, MANIFEST)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, default=str)
        f.write("\n")
    os.replace(tmp, path)


def environment(reference: str, seed: Any) -> Dict[str, Any]:
    env: Dict[str, Any] = dict(common.versions())
    env["reference"] = os.path.abspath(reference)
    seed_file = getattr(seed, "__file__", None)
    if seed_file and os.path.exists(seed_file):
        env["seed_exporter_sha256"] = common.sha256_file(seed_file)
    env["pytree_registration"] = models.REGISTRATION
    env["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return env


def summary_line(p: Dict[str, Any]) -> str:
    c = p.get("compiled") or {}
    seed = p.get("seed") or {}

    def s(key: str) -> str:
        r = seed.get(key)
        if r is None:
            return "-"
        return ("ok" + (" (patched)" if r.get("persistent_patch") else "")) if r.get("ok") else "FAIL"

    tgm = p.get("files", {}).get(p["name"] + ".tgm", {}).get("bytes")
    cases = ",".join(r["label"] for r in (p.get("io") or {}).get("cases", []) if "error" not in r) or "-"
    return (f"{p['name']}: {p.get('status')} | engines {c.get('engines', '-')} fallbacks {c.get('fallbacks', '-')} "
            f"root nodes {c.get('root_nodes', '-')} | tgm {'-' if tgm is None else f'{tgm / 1024:.1f} KB'} | "
            f"seed {s('plain')} / cross {s('cross')} | cases {cases} | {len(p.get('failures', []))} failure(s), "
            f"{len(p.get('findings', []))} finding(s)")


def print_table(manifest: Dict[str, Any]) -> None:
    log("\n| program | status | engines | fallbacks | root nodes | dynamic | cases | refuse | seed | seed cross | tgm KB | failures |")
    log("| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- | --- | ---: | ---: |")
    for p in manifest["programs"].values():
        c = p.get("compiled") or {}
        seed = p.get("seed") or {}
        dyn = ",".join((p.get("dynamic") or {}).get("symbols", {})) or "-"
        io = p.get("io") or {}
        cases = ",".join(r["label"] for r in io.get("cases", []) if "error" not in r) or "-"
        refuse = "yes" if (io.get("refuse") or {}).get("refused") else ("n/a" if not (io.get("refuse") or {}).get("planned") else "no")

        def s(key: str) -> str:
            r = seed.get(key)
            return "-" if r is None else (("ok" + ("*" if r.get("persistent_patch") else "")) if r.get("ok") else "FAIL")

        tgm = p.get("files", {}).get(p["name"] + ".tgm", {}).get("bytes")
        log(f"| {p['name']} | {p.get('status')} | {c.get('engines', '-')} | {c.get('fallbacks', '-')} | "
            f"{c.get('root_nodes', '-')} | {dyn} | {cases} | {refuse} | {s('plain')} | {s('cross')} | "
            f"{'-' if tgm is None else f'{tgm / 1024:.1f}'} | {len(p.get('failures', []))} |")
    sm = manifest.get("summary", {})
    log(f"\n(* = with the persistent-flag patch) {sm.get('programs')} programs: {sm.get('status')}; "
        f"{sm.get('engines')} engines; .tgm total {sm.get('tgm_bytes', 0) / 1e6:.2f} MB, all files "
        f"{sm.get('all_bytes', 0) / 1e6:.1f} MB")


# ------------------------------------------------------------------------------------------- main


def run_isolated(spec: models.ProgramSpec, argv_base: List[str], timeout: float) -> Tuple[int, List[str]]:
    """Builds one program in a child process (this script with --only NAME), echoing its output; returns its
    exit code (None-like -9 on timeout) and the last lines it printed."""
    cmd = [sys.executable, os.path.abspath(__file__), *argv_base, "--only", spec.name, "--child"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: deque = deque(maxlen=40)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            print(line, end="", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # only the child this function started
        proc.wait()
        code = -9
        tail.append(f"killed after {timeout:.0f} s")
    reader.join(timeout=10)
    return code, list(tail)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="the reference tools (check_pt2.py, seed_exporter.py, shim/, trtstub/)")
    ap.add_argument("--out", required=True, help="where to write the corpus")
    ap.add_argument("--only", default=None, help="comma-separated program names (others keep their manifest entries)")
    ap.add_argument("--isolate", action="store_true", help="build each program in its own process")
    ap.add_argument("--program-timeout", type=float, default=900.0, help="with --isolate: seconds per program")
    ap.add_argument("--list", action="store_true", help="list the programs and exit")
    ap.add_argument("--verbose", action="store_true", help="keep torch's warnings")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    specs = models.PROGRAMS
    if a.list:
        for p in specs:
            log(f"{p.name}: {p.description}")
        return 0
    if a.only:
        wanted = [n.strip() for n in a.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in models.by_name()]
        if unknown:
            ap.error(f"unknown program(s): {', '.join(unknown)} (see --list)")
        specs = [p for p in specs if p.name in wanted]
    if not a.verbose:
        warnings.filterwarnings("ignore")
    os.makedirs(a.out, exist_ok=True)
    common.set_numerics()
    run_id = f"{os.getpid()}-{time.time():.0f}"

    if a.isolate and not a.child:
        base = ["--reference", a.reference, "--out", a.out] + (["--verbose"] if a.verbose else [])
        for i, spec in enumerate(specs, 1):
            log(f"== [{i}/{len(specs)}] {spec.name} (own process)")
            before = read_manifest(a.out)["programs"].get(spec.name, {}).get("run_id")
            code, tail = run_isolated(spec, base, a.program_timeout)
            manifest = read_manifest(a.out)
            entry = manifest["programs"].get(spec.name)
            stale = entry is None or entry.get("run_id") == before
            if code != 0 or stale or entry.get("status") == "running":
                if stale:  # the child wrote nothing for this program: a fresh entry
                    entry = new_entry(spec, run_id)
                entry["status"] = "failed"  # what the child recorded before it died stays
                entry["failures"].append({"step": "process", "error": f"the build process exited with {code}",
                                          "traceback": "\n".join(tail)})
                manifest["programs"][spec.name] = entry
                write_manifest(a.out, manifest)
        manifest = read_manifest(a.out)
        write_manifest(a.out, manifest)
        log("")
        for p in manifest["programs"].values():
            log(summary_line(p))
        print_table(manifest)
        return 0

    if not torch.cuda.is_available():
        log("CUDA is not available: the stand-in runtime and the programs need a CUDA GPU")
        return 3
    try:
        _, seed = common.setup_runtime(a.reference)
        from torch_tensorrt.dynamo.runtime._TorchTensorRTModule import TorchTensorRTModule
    except Exception as e:  # noqa: BLE001
        log(f"runtime setup failed: {common.error_text(e)}\n{common.traceback_tail()}")
        return 3
    ctx = Context(out=os.path.abspath(a.out), device=torch.device("cuda:0"), seed=seed,
                  TorchTensorRTModule=TorchTensorRTModule, run_id=run_id)
    manifest = read_manifest(a.out)
    manifest["format"] = "trtx-corpus-manifest"
    manifest["version"] = 1
    manifest["tool"] = TOOL
    manifest["environment"] = environment(a.reference, seed)
    env = manifest["environment"]
    log(f"torch {env['torch']}, sympy {env['sympy']}, torchvision {env['torchvision']}, transformers "
        f"{env['transformers']}, device {env['device']}; {len(specs)} program(s) into {ctx.out}")

    for i, spec in enumerate(specs, 1):
        log(f"== [{i}/{len(specs)}] {spec.name}: {spec.description.split(';')[0]}")
        manifest["programs"][spec.name] = new_entry(spec, run_id)  # "running" until written again
        write_manifest(a.out, manifest)
        try:
            entry = build_program(spec, ctx)
        except Exception as e:  # noqa: BLE001 - build_program records its own failures; this is the last net
            entry = new_entry(spec, run_id)
            entry["failures"].append(common.failure("build_program", e))
            entry["status"] = "failed"
        manifest["programs"][spec.name] = entry
        write_manifest(a.out, manifest)
        log(f"-- {summary_line(entry)}")
        # What one program leaves behind must not reach the next.
        try:
            torch._dynamo.reset()
        except Exception:  # noqa: BLE001
            pass
        gc.collect()
        try:
            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - a CUDA error that poisoned the context: later programs will say so
            pass

    if not a.child:
        print_table(manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
