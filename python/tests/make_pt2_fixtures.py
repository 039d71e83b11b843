"""Write torch 2.11's own .pt2 archives of small programs for trtx's reader tests (test/fixtures/pt2/torch),
and report what torch writes for them: dynamic batch and sequence sizes, derived dims, SymInt inputs and
outputs, unbacked sizes, cond / while_loop / map, no_grad and autocast regions, every serializable dtype and a
complex argument, pytree inputs and outputs (namedtuple, dataclass, dict), tied weights, attention, LSTM and a
transformer layer; each exported with torch.export in the training dialect and decomposed to core ATen.

Run on a machine with torch 2.11 and a CUDA GPU:

    python3 python/tests/make_pt2_fixtures.py OUT    # OUT/archives/<name>.<training|core>.pt2, OUT/probe.json
"""
import dataclasses
import json
import os
import sys
import traceback
from collections import namedtuple

import sympy
import torch
from torch import nn
from torch.export import Dim

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
dev = torch.device("cuda:0")
log = {"torch": torch.__version__, "sympy": sympy.__version__, "programs": {}, "errors": {}}
exprs = {}


def collect(ep):
    def add(s):
        if isinstance(s, torch.SymInt):
            e = s.node.expr
            if not e.is_number:
                exprs[str(e)] = {
                    "srepr": sympy.srepr(e),
                    "hint": None if s.node.hint is None else int(s.node.hint),
                    "symbols": {str(x): sympy.srepr(x) for x in e.free_symbols},
                    "type": type(e).__name__,
                }
    for gm in ep.graph_module.modules():
        if not isinstance(gm, torch.fx.GraphModule):
            continue
        for n in gm.graph.nodes:
            v = n.meta.get("val")
            vs = v if isinstance(v, (list, tuple)) else [v]
            for t in vs:
                if isinstance(t, torch.Tensor):
                    for s in list(t.shape) + list(t.stride()) + [t.storage_offset()]:
                        add(s)
                else:
                    add(t)


def save(name, ep):
    try:
        collect(ep)
        p = os.path.join(OUT, "archives", f"{name}.pt2")
        torch.export.save(ep, p)
        back = torch.export.load(p)
        log["programs"][name] = {
            "range_constraints": {str(k): str(v) for k, v in ep.range_constraints.items()},
            "nodes": len(ep.graph.nodes),
            "graph": str(ep.graph)[:4000],
            "reloaded_nodes": len(back.graph.nodes),
        }
    except Exception:
        log["errors"][name] = traceback.format_exc()[-3000:]


def probe(name, model, args, kwargs=None, dynamic_shapes=None, strict=False):
    try:
        model = model.to(dev) if isinstance(model, nn.Module) else model
        ep = torch.export.export(model, args, kwargs or {}, dynamic_shapes=dynamic_shapes, strict=strict)
        save(f"{name}.training", ep)
        save(f"{name}.core", ep.run_decompositions())
        try:
            m = ep.module()
            m(*args, **(kwargs or {}))
        except Exception:
            log["errors"][f"{name}.module"] = traceback.format_exc()[-2000:]
        return ep
    except Exception:
        log["errors"][name] = traceback.format_exc()[-3000:]


os.makedirs(os.path.join(OUT, "archives"), exist_ok=True)
r = lambda *s, dtype=torch.float32: torch.randn(*s, device=dev, dtype=dtype)


class DynLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 4)

    def forward(self, x):
        return torch.relu(self.lin(x))


B = Dim("batch", min=2, max=64)
probe("dyn_linear", DynLinear(), (r(4, 8),), dynamic_shapes={"x": {0: B}})


class DynSeq(nn.Module):
    def forward(self, x, y):
        b, s, d = x.shape
        v = x.reshape(b, s * 2, d // 2)
        c = torch.cat([x, x[:, :1]], dim=1)
        h = x[:, : s // 2]
        z = torch.cat([x, y], dim=1)
        f = x.flatten(1)
        return v, c, h, z, f, torch.ops.aten.sym_size.int(x, 1) * 3


S = Dim("seq", min=2, max=128)
probe("dyn_seq", DynSeq(), (r(3, 6, 16), r(3, 5, 16)), dynamic_shapes={"x": {0: B, 1: S}, "y": {0: B, 1: Dim("s2", min=1, max=32)}})


class Derived(nn.Module):
    def forward(self, x, y):
        return x[: y.shape[0] // 2] + y[::2], x.shape[0] + 1


D = Dim("d", min=2, max=32)
probe("derived", Derived(), (r(4, 3), r(8, 3)), dynamic_shapes={"x": {0: D}, "y": {0: 2 * D}})


class SymOut(nn.Module):
    def forward(self, x, n: int):
        return x * n, x.shape[0], x.shape[0] * 2 + n


probe("sym_int_io", SymOut(), (r(4, 3), 5), dynamic_shapes={"x": {0: B}, "n": Dim.DYNAMIC})


class Unbacked(nn.Module):
    def forward(self, x):
        nz = torch.nonzero(x > 0)
        k = (x > 0).sum().item()
        torch._check(k >= 0)
        torch._check(k <= x.numel())
        return nz, torch.zeros(k, device=x.device) + 1


probe("unbacked", Unbacked(), (r(5, 4),))


class Cond(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        def t(x):
            return self.lin(x).sin()

        def f(x):
            return x.cos() * 2

        return torch.cond(x.sum() > 0, t, f, (x,))


probe("cond", Cond(), (r(3, 4),))
probe("cond_dyn", Cond(), (r(3, 4),), dynamic_shapes={"x": {0: B}})


class While(nn.Module):
    def forward(self, i, x):
        def c(i, x):
            return i < 3

        def b(i, x):
            return i + 1, x * 2

        return torch._higher_order_ops.while_loop(c, b, (i, x))


probe("while_loop", While(), (torch.tensor(0, device=dev), r(2, 3)))


class Map(nn.Module):
    def forward(self, xs, y):
        def body(x, y):
            return x.sin() + y

        return torch._higher_order_ops.map(body, xs, y)


probe("map", Map(), (r(3, 4), r(4)))


class NoGrad(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        y = x * 2
        with torch.no_grad():
            z = self.lin(y)
        return z + y


probe("set_grad", NoGrad(), (r(3, 4),))


class Autocast(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            y = self.lin(x)
        return y.float() + 1


probe("autocast", Autocast(), (r(3, 4),))

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int8, torch.uint8, torch.int16,
          torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128, torch.float8_e4m3fn,
          torch.float8_e5m2, torch.uint16, torch.float8_e4m3fnuz, torch.float8_e5m2fnuz, torch.complex32]


class Dtypes(nn.Module):
    def __init__(self):
        super().__init__()
        for dt in DTYPES:
            name = "b_" + str(dt).removeprefix("torch.")
            try:
                t = torch.ones(3, device=dev).to(dt)
            except Exception:
                t = torch.ones(3, device=dev, dtype=torch.float32).to(dt)
            self.register_buffer(name, t)
        self.w = nn.Parameter(torch.randn(8, 4, device=dev).t())  # non-contiguous
        self.register_buffer("empty", torch.zeros(0, 3, device=dev))
        self.register_buffer("scalar", torch.tensor(2.5, device=dev))
        self.register_buffer("npb", torch.ones(2, device=dev), persistent=False)

    def forward(self, x):
        outs = [getattr(self, "b_" + str(dt).removeprefix("torch.")).clone() for dt in DTYPES]
        return (x @ self.w, self.empty + 1, self.scalar * 2, x.sum(), None, self.npb + 1, x * (1 + 2j), *outs)


probe("dtypes", Dtypes(), (r(3, 4),))

Point = namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Out:
    a: torch.Tensor
    b: torch.Tensor


torch.export.register_dataclass(Out, serialized_type_name="probe.Out")
try:
    torch.utils._pytree._register_namedtuple(Point, serialized_type_name="probe.Point")
except Exception:
    log["errors"]["register_namedtuple"] = traceback.format_exc()[-1000:]


class Trees(nn.Module):
    def forward(self, p, d, *, scale):
        return Out(p.x + d["k"], p.y * scale), {"z": [p.x, (d["k"],)]}, Point(p.x, p.y)


probe("pytree", Trees(), (Point(r(2), r(2)), {"k": r(2)}), {"scale": r(2)})


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
        self.out.weight = self.emb.weight
        self.ln = nn.LayerNorm(4)

    def forward(self, ids, mask):
        h = self.ln(self.emb(ids))
        return self.out(h) * mask.unsqueeze(-1)


probe("tied_embedding", Tied(), (torch.randint(0, 10, (2, 5), device=dev), torch.ones(2, 5, dtype=torch.bool, device=dev)),
      dynamic_shapes={"ids": {0: B, 1: S}, "mask": {0: B, 1: S}})

probe("mha", nn.MultiheadAttention(16, 4, batch_first=True), (r(2, 5, 16), r(2, 5, 16), r(2, 5, 16)),
      dynamic_shapes={"query": {1: S}, "key": {1: S}, "value": {1: S}})
probe("lstm", nn.LSTM(8, 16, batch_first=True), (r(2, 5, 8),))
probe("encoder_layer", nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, dropout=0.0).eval(), (r(2, 5, 16),),
      dynamic_shapes={"src": {0: B, 1: S}})

# ---- the compiled-module side: what ep.module() looks like with dynamic shapes
try:
    ep = torch.export.export(DynSeq().to(dev), (r(3, 6, 16), r(3, 5, 16)),
                             dynamic_shapes={"x": {0: B, 1: S}, "y": {0: B, 1: Dim("s2", min=1, max=32)}})
    m = ep.run_decompositions().module()
    lines = []
    for n in m.graph.nodes:
        lines.append(f"{n.op} {n.name} {n.target} {n.args} val={n.meta.get('val')!r}"[:300])
    log["module_graph_dyn_seq"] = lines
    info = m.graph._codegen.pytree_info
    log["module_codegen"] = str(type(m.graph._codegen))
    shape_env = next(n.meta["val"] for n in m.graph.nodes if n.op == "placeholder").fake_mode.shape_env
    log["shape_env"] = {
        "var_to_range": {str(k): str(v) for k, v in shape_env.var_to_range.items()},
        "backed_var_to_val": {str(k): str(v) for k, v in getattr(shape_env, "backed_var_to_val", shape_env.var_to_val).items()},
    }
except Exception:
    log["errors"]["module_graph"] = traceback.format_exc()[-3000:]

# ---- sympy printing facts
from torch.utils._sympy.functions import FloorDiv, Mod, PythonMod, CleanDiv, CeilToInt, FloorToInt, IntTrueDiv, Max, Min  # noqa
s0 = sympy.Symbol("s0", positive=True, integer=True)
s1 = sympy.Symbol("s1", positive=True, integer=True)
u0 = sympy.Symbol("u0", integer=True)
cases = {
    "2*s0": 2 * s0, "s0+1": s0 + 1, "5-s0": 5 - s0, "s0-1": s0 - 1, "-s0": -s0, "s0*s1": s0 * s1, "s1*s0+s0": s1 * s0 + s0,
    "s0**2": s0 ** 2, "s0/2": s0 / 2, "FloorDiv": FloorDiv(s0, 2), "FloorDiv2": FloorDiv(s0 + 1, 2), "Mod": Mod(s0, 3),
    "PythonMod": PythonMod(s0, 3), "CleanDiv": CleanDiv(2 * s0, 2), "Max": Max(1, s0), "Min": Min(s0, s1), "u0": u0,
    "u0*s0": u0 * s0, "2*s0*s1+3*s0+1": 2 * s0 * s1 + 3 * s0 + 1, "-2*s0+s1": -2 * s0 + s1, "s1-s0": s1 - s0,
    "Max(s0,s1)+1": Max(s0, s1) + 1, "CeilToInt": CeilToInt(s0 / 3), "IntTrueDiv": IntTrueDiv(s0, 2),
    "neg mul": -3 * s0 * s1, "big": s0 * 1024 + s1 * 16 - 7, "Eq": sympy.Eq(s0, 2), "Ne": sympy.Ne(u0, 0),
    "Ge": sympy.Ge(u0, 0), "And": sympy.And(sympy.Ge(u0, 0), sympy.Le(u0, 10)), "sym_float": sympy.Float(2.5) * s0,
}
log["sympy_cases"] = {}
for k, e in cases.items():
    try:
        log["sympy_cases"][k] = {"str": str(e), "srepr": sympy.srepr(e), "args": [str(a) for a in e.args]}
    except Exception:
        log["sympy_cases"][k] = traceback.format_exc()[-500:]

log["exprs"] = exprs
with open(os.path.join(OUT, "probe.json"), "w") as f:
    json.dump(log, f, indent=1, default=str)
print(json.dumps({k: v for k, v in log.items() if k in ("torch", "sympy", "errors")}, indent=1)[:6000])
print("programs:", list(log["programs"]))

# ---- serializer facts
try:
    import inspect
    from torch._export.serde import serialize as ser
    facts = {}
    for op in ser._SYM_OPS:
        try:
            params = list(inspect.signature(op).parameters)
        except Exception as e:
            params = f"error: {e}"
        facts[f"{op.__module__}.{getattr(op, '__name__', op)}"] = params
    log["sym_op_params"] = facts
    log["serialize_dtypes"] = {str(k): int(v) for k, v in ser._TORCH_TO_SERIALIZE_DTYPE.items()}
    log["hop_names"] = sorted(str(k) for k in torch._ops._higher_order_ops.keys())
except Exception:
    log["errors"]["facts"] = traceback.format_exc()[-2000:]
with open(os.path.join(OUT, "probe.json"), "w") as f:
    json.dump(log, f, indent=1, default=str)
print("facts:", json.dumps(log.get("sym_op_params"), indent=0)[:3000])
