"""Write a compiled, partitioned ``torch.fx.GraphModule`` as a ``.tgm`` compiled-module archive.

The ``.tgm`` format is ``shared/spec/compiled-module-archive.md`` (version 1): a zip holding
``format.json``, ``module.json`` (the module tree, graphs and metadata as JSON), ``engines/<k>`` (serialized
TensorRT engines) and ``tensors/<k>`` (whole storages, raw little-endian bytes). trtx reads it and exports
the module as a torch.export ``.pt2`` archive (``trtx export model.tgm -o model.pt2``).

Input: what ``torch_tensorrt.dynamo.compile`` returns, or any partitioned GraphModule whose TensorRT
children expose ``_pack_engine_info()`` (``TorchTensorRTModule``, or the stand-in of
``shared/reference/shim``). What is written:

* every module of the tree, children in registration order: graph modules with their graphs, TensorRT
  modules as their packed engine info (``_pack_engine_info()`` index for index, the engine bytes moved to
  ``engines/<k>``) and, where it differs, the live engine's ``__getstate__()`` (``engine_state``), and the
  plain modules that only hold state;
* parameters, buffers (``"persistent": false`` on a non-persistent one) and the other tensors and script
  objects that ``get_attr`` nodes read, each tensor as a strided view (``shape``, ``stride``,
  ``storage_offset``) into its whole storage; tensors that share a storage (tied weights, transposed views)
  name the same ``tensors/<k>``, written once;
* every node: op, target (``torch.ops.aten.add.Tensor``, ``_operator.getitem``), arguments, and the metas
  the exporter reads or passes through: ``val`` (fake tensors as shape/stride/dtype/device records, symbolic
  dims as strings), ``stack_trace``, ``nn_module_stack``, ``source_fn_stack``, ``torch_fn``, ``from_node``,
  ``custom``, the last five as the JSON-ready values that torch.export's serializer writes;
* the root graph's pytree ``in_spec`` / ``out_spec`` and, when shapes are symbolic, every symbol with its
  hint and value range (``symbols``);
* ``op_schemas.json``, an addition of trtx to the shared spec (``docs/divergences.md``): the torch schema
  strings of the operators the graphs call (``str(op._schema)``), which the ``.pt2`` format needs to name
  every argument. It is the JSON form that ``trtx export --schemas FILE`` takes.

Only the standard library and torch are used. Nothing is pickled: values with no form in the archive
(a SymFloat argument, a non-tensor ``get_attr`` target...) stop the dump with a
:class:`DumpError` that names the module, the node and the argument.

Example::

    import trtx_dump
    trt_gm = torch_tensorrt.dynamo.compile(exported_program, inputs)
    trtx_dump.dump(trt_gm, "model.tgm")
"""
from __future__ import annotations

import base64
import binascii
import ctypes
import json
import math
import os
import sys
import tempfile
import zipfile
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import torch
import torch.fx

__all__ = ["DumpError", "FORMAT", "VERSION", "SCHEMAS_ENTRY", "dump", "to_bytes", "encode_argument", "op_schemas"]

FORMAT = "torch-tensorrt-compiled-module"
VERSION = 1
SCHEMAS_ENTRY = "op_schemas.json"
TOOL = "trtx python/trtx_dump.py"
META_KEYS = ("val", "stack_trace", "nn_module_stack", "source_fn_stack", "torch_fn", "from_node", "custom")
ENGINE_CLASS_FQN = "__torch__.torch.classes.tensorrt.Engine"

# A JSON number is read as a double by JavaScript, so larger ints are written as {"int": "<digits>"}.
_SAFE_INT = 2**53 - 1
# Fixed zip timestamps and modes: the same module always gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_MODE = 0o644 << 16


class DumpError(ValueError):
    """The module holds something the archive cannot describe; the message says where."""


# ----------------------------------------------------------------------------------------------- API


def dump(gm: torch.fx.GraphModule, path: str, *, tool: str = TOOL, schemas: bool = True) -> None:
    """Write ``gm`` as a ``.tgm`` archive at ``path``, atomically (a temporary file renamed into place).

    ``tool`` is recorded in ``format.json``'s producer; ``schemas=False`` leaves out ``op_schemas.json``.
    Raises :class:`DumpError` for a module the archive cannot describe; then no file is written.
    """
    data = to_bytes(gm, tool=tool, schemas=schemas)
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".tgm-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def to_bytes(gm: torch.fx.GraphModule, *, tool: str = TOOL, schemas: bool = True) -> bytes:
    """The ``.tgm`` archive of ``gm`` as bytes (see :func:`dump`)."""
    if not isinstance(gm, torch.fx.GraphModule):
        raise DumpError(f"the root must be a torch.fx.GraphModule, not {type(gm).__module__}.{type(gm).__qualname__}")
    if sys.byteorder != "little":
        raise DumpError("storages are written as this machine holds them, and the format wants little-endian bytes")
    dumper = _Dumper(gm)
    root = dumper.module(gm, "$", is_root=True)
    symbols = dumper.symbol_table()
    if symbols:
        root["graph"]["symbols"] = symbols
    producer = {"torch": torch.__version__, "torch_tensorrt": _torch_tensorrt_version(), "tool": tool}
    entries: List[Tuple[str, bytes, bool]] = [
        ("format.json", json.dumps({"format": FORMAT, "version": VERSION, "producer": producer}, indent=1).encode(), True),
        ("module.json", json.dumps(root, separators=(",", ":"), allow_nan=False).encode(), True),
    ]
    if schemas:
        entries.append((SCHEMAS_ENTRY, json.dumps(sorted(dumper.schemas), indent=1).encode(), True))
    # Blobs are stored, not deflated, so that a reader can map them as they are.
    entries += [(name, blob, False) for name, blob in dumper.engines.items()]
    entries += [(name, blob, False) for name, blob in dumper.storages.items()]
    return _zip(entries)


def op_schemas(gm: torch.fx.GraphModule) -> List[str]:
    """The schema strings of the operators that the graphs of ``gm``'s tree call, sorted (``op_schemas.json``)."""
    out: Set[str] = set()
    for module in gm.modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
                    out.add(str(node.target._schema))
    return sorted(out)


def encode_argument(value: Any, where: str = "argument") -> Any:
    """A node argument in its archive form (the spec's table "Arg, by JSON shape").

    Symbolic ints are written as their expressions; their symbols are not collected here (see :func:`dump`).
    """
    return _Dumper(None).argument(value, where)


# ------------------------------------------------------------------------------------------- the walk


class _Dumper:
    """One dump: the entries written so far, the constants to find, and the symbols met."""

    def __init__(self, root: Optional[torch.fx.GraphModule]):
        self.storages: Dict[str, bytes] = {}  # "tensors/<k>" -> bytes, in order of first reference
        self.engines: Dict[str, bytes] = {}  # "engines/<k>" -> bytes, in order of first reference
        self._storage_names: Dict[int, str] = {}  # StorageImpl address -> entry: one entry per storage
        self._engine_names: Dict[bytes, str] = {}  # engine bytes -> entry: equal engines once
        self.schemas: Set[str] = set()
        self._symbols: Dict[str, Tuple[Any, Any]] = {}  # name -> (sympy symbol, ShapeEnv), first seen first
        self._constants = _constants_read(root) if root is not None else {}

    # ---- modules

    def module(self, m: torch.nn.Module, path: str, is_root: bool = False) -> Dict[str, Any]:
        if callable(getattr(m, "_pack_engine_info", None)):
            if is_root:
                raise DumpError("$: the root is a TensorRT module; the root must be the partitioned GraphModule")
            return self.trt_module(m, path)
        if isinstance(m, torch.fx.GraphModule):
            head: Dict[str, Any] = {"kind": "graph_module", "graph": self.graph(m, path, is_root)}
        else:
            head = {"kind": "module", "type": f"{type(m).__module__}.{type(m).__qualname__}"}
        # Children before the module's own state: entries are numbered in the order this walk meets them,
        # the order trtx's writer uses too, so that a read-back module is written back the same.
        children = {}
        for name, child in m._modules.items():
            if child is not None:
                children[name] = self.module(child, _child(path, "children", name))
        parameters = {}
        for name, p in m._parameters.items():
            if p is not None:
                parameters[name] = self.tensor_ref(p, _child(path, "parameters", name))
        buffers = {}
        for name, b in m._buffers.items():
            if b is not None:
                ref = self.tensor_ref(b, _child(path, "buffers", name))
                if name in m._non_persistent_buffers_set:
                    ref["persistent"] = False
                buffers[name] = ref
        constants = {}
        for name, value in self._constants.get(id(m), {}).items():
            constants[name] = self.constant(value, _child(path, "constants", name))
        return {**head, "children": children, "parameters": parameters, "buffers": buffers, "constants": constants}

    def trt_module(self, m: torch.nn.Module, path: str) -> Dict[str, Any]:
        info = list(m._pack_engine_info())
        blobs = [i for i, f in enumerate(info) if isinstance(f, (bytes, bytearray))]
        if len(blobs) != 1:
            raise DumpError(f"{path}: _pack_engine_info() holds {len(blobs)} byte fields; the engine should be the only one")
        engine_index = blobs[0]
        for i, f in enumerate(info):
            if i != engine_index and not isinstance(f, str):
                raise DumpError(f"{path}.packed_engine_info[{i}]: a {type(f).__qualname__}, where a string is expected")
        packed = [self.engine_ref(bytes(f)) if i == engine_index else f for i, f in enumerate(info)]
        record: Dict[str, Any] = {"kind": "trt_module", "name": getattr(m, "name", path.rsplit(".", 1)[-1])}
        record["packed_engine_info"] = packed
        state = self.engine_state(m, info, engine_index, path)
        if state is not None:
            record["engine_state"] = state
        record["input_binding_names"] = [str(n) for n in m.input_binding_names]
        record["output_binding_names"] = [str(n) for n in m.output_binding_names]
        return record

    def engine_state(self, m: torch.nn.Module, info: List[Any], engine_index: int, path: str) -> Optional[List[Any]]:
        """The live engine's ``__getstate__()``, engine decoded to bytes, when it differs from the packed info.

        It differs after ``set_output_tensors_as_unowned(True)``, for one: ``_pack_engine_info()`` then records
        the flag in its metadata, the record the engine was built from does not. The plain export pickles
        this record, so the archive keeps it.
        """
        engine = getattr(m, "engine", None)
        if engine is None:
            return None
        where = f"{path}.engine_state"
        fields = _engine_fields(_getstate(engine), engine_index, where)
        if len(fields) != len(info):
            raise DumpError(f"{where}: the engine's state has {len(fields)} fields, _pack_engine_info() {len(info)}")
        if fields == [bytes(f) if i == engine_index else f for i, f in enumerate(info)]:
            return None
        return [self.engine_ref(f) if i == engine_index else f for i, f in enumerate(fields)]

    def constant(self, value: Any, path: str) -> Dict[str, Any]:
        if isinstance(value, torch.Tensor):
            return self.tensor_ref(value, path)
        class_fqn = value._type().qualified_name()
        state = _getstate(value)
        if class_fqn == ENGINE_CLASS_FQN:
            fields = _engine_fields(state, _engine_index(), f"{path}.script_object.state")
            state = [self.engine_ref(f) if isinstance(f, bytes) else f for f in fields]
        elif isinstance(state, (list, tuple)) and all(isinstance(f, (str, bytes)) for f in state):
            state = [self.engine_ref(bytes(f)) if isinstance(f, bytes) else f for f in state]
        else:
            raise DumpError(f"{path}: the state of {class_fqn} is not a list of strings")
        return {"script_object": {"class_fqn": class_fqn, "state": state}}

    # ---- entries

    def tensor_ref(self, t: torch.Tensor, path: str) -> Dict[str, Any]:
        if t.layout != torch.strided:
            raise DumpError(f"{path}: a {t.layout} tensor; only strided tensors have a form in the archive")
        if t.device.type == "meta" or _is_fake(t):
            raise DumpError(f"{path}: a tensor without data ({t.device.type} / fake); the archive holds real weights")
        storage = t.untyped_storage()
        name = self._storage_names.get(storage._cdata)
        if name is None:
            name = f"tensors/{len(self._storage_names)}"
            self._storage_names[storage._cdata] = name
            self.storages[name] = _storage_bytes(storage)
        return {
            "storage": name,
            "dtype": _dtype_name(t.dtype),
            "shape": [int(s) for s in t.shape],
            "stride": [int(s) for s in t.stride()],
            "storage_offset": int(t.storage_offset()),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
        }

    def engine_ref(self, blob: bytes) -> Dict[str, str]:
        name = self._engine_names.get(blob)
        if name is None:
            name = f"engines/{len(self._engine_names)}"
            self._engine_names[blob] = name
            self.engines[name] = blob
        return {"engine": name}

    # ---- graphs

    def graph(self, gm: torch.fx.GraphModule, path: str, is_root: bool) -> Dict[str, Any]:
        graph_path = f"{path}.graph"
        nodes = [self.node(n, f"{graph_path}.nodes[{i}]") for i, n in enumerate(gm.graph.nodes)]
        in_spec = out_spec = None
        info = getattr(gm.graph._codegen, "pytree_info", None)
        if info is not None:
            from torch.utils._pytree import treespec_dumps

            in_spec = treespec_dumps(info.in_spec) if info.in_spec is not None else None
            out_spec = treespec_dumps(info.out_spec) if info.out_spec is not None else None
            fields: Dict[str, List[str]] = {}
            for spec in (info.in_spec, info.out_spec):
                if spec is not None:
                    _namedtuple_fields(spec, fields)
            if fields:
                return {"nodes": nodes, "in_spec": in_spec, "out_spec": out_spec, "namedtuple_fields": fields}
        return {"nodes": nodes, "in_spec": in_spec, "out_spec": out_spec}

    def node(self, n: torch.fx.Node, path: str) -> Dict[str, Any]:
        where = f"{path} (node {n.name})"
        if n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload):
            self.schemas.add(str(n.target._schema))
        return {
            "name": n.name,
            "op": n.op,
            "target": n.target if isinstance(n.target, str) else _qualified_name(n.target, where),
            "args": [self.argument(a, f"{where} args[{i}]") for i, a in enumerate(n.args)],
            "kwargs": {k: self.argument(v, f"{where} kwargs[{k!r}]") for k, v in n.kwargs.items()},
            "meta": self.meta(n.meta, where),
        }

    def argument(self, a: Any, where: str) -> Any:
        if isinstance(a, torch.fx.Node):
            return {"node": a.name}
        if a is None or isinstance(a, (bool, str)):
            return a
        if isinstance(a, int):
            return int(a) if abs(a) <= _SAFE_INT else {"int": str(int(a))}
        if isinstance(a, float):
            return {"float": _json_float(a)}
        if isinstance(a, complex):
            return {"complex": [_json_float(a.real), _json_float(a.imag)]}
        if isinstance(a, torch.SymInt):
            return {"sym_int": self.sym_int(a)}
        if isinstance(a, tuple):
            return {"tuple": [self.argument(x, f"{where}[{i}]") for i, x in enumerate(a)]}
        if isinstance(a, list):
            return [self.argument(x, f"{where}[{i}]") for i, x in enumerate(a)]
        if isinstance(a, dict):
            return {"dict": [[self.argument(k, f"{where} key"), self.argument(v, f"{where}[{k!r}]")] for k, v in a.items()]}
        if isinstance(a, torch.dtype):
            return {"dtype": _dtype_name(a)}
        if isinstance(a, torch.device):
            return {"device": str(a)}
        if isinstance(a, torch.layout):
            return {"layout": _torch_name(a)}
        if isinstance(a, torch.memory_format):
            return {"memory_format": _torch_name(a)}
        if isinstance(a, slice):
            return {"slice": [self.argument(x, f"{where}.slice") for x in (a.start, a.stop, a.step)]}
        raise DumpError(f"{where}: a {type(a).__module__}.{type(a).__qualname__} ({a!r}) has no form in the archive")

    # ---- metadata

    def meta(self, meta: Dict[str, Any], where: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        if "val" in meta:
            out["val"] = self.val(meta["val"], f"{where} meta['val']")
        # The serializer writes a key only when its value is truthy; so does the dump.
        if meta.get("stack_trace"):
            out["stack_trace"] = str(meta["stack_trace"])
        if meta.get("nn_module_stack"):
            out["nn_module_stack"] = {
                str(k): [str(v[0]), v[1] if isinstance(v[1], str) else f"{v[1].__module__}.{v[1].__qualname__}"]
                for k, v in meta["nn_module_stack"].items()
            }
        if meta.get("source_fn_stack"):
            out["source_fn_stack"] = [[str(name), _operator_name(fn)] for name, fn in meta["source_fn_stack"]]
        if meta.get("torch_fn"):
            out["torch_fn"] = [str(x) for x in meta["torch_fn"]]
        if meta.get("from_node"):
            out["from_node"] = [_node_source(s) for s in meta["from_node"]]
        if meta.get("custom"):
            try:
                out["custom"] = json.loads(json.dumps(meta["custom"], allow_nan=False))
            except (TypeError, ValueError) as e:
                raise DumpError(f"{where} meta['custom']: not JSON-serializable ({e})") from None
        return out

    def val(self, v: Any, where: str) -> Any:
        if v is None:
            return None
        if isinstance(v, torch.Tensor):
            return {"tensor": self.tensor_meta(v, where)}
        if isinstance(v, bool):
            return {"bool": v}
        if isinstance(v, int):
            return {"int": int(v) if abs(v) <= _SAFE_INT else str(int(v))}
        if isinstance(v, torch.SymInt):
            dim = self.dim(v)
            return {"int": dim} if isinstance(dim, int) else {"sym_int": dim}
        if isinstance(v, torch.SymBool):
            constant = _constant_bool(v.node.expr)
            return {"bool": constant} if constant is not None else {"sym_bool": self.sym_expr(v)}
        if isinstance(v, torch.SymFloat):
            expr = v.node.expr
            return {"float": _json_float(float(expr))} if expr.is_number else {"sym_float": self.sym_expr(v)}
        if isinstance(v, float):
            return {"float": _json_float(v)}
        if isinstance(v, (list, tuple)):
            return [self.val(x, f"{where}[{i}]") for i, x in enumerate(v)]
        from torch.export.graph_signature import CustomObjArgument

        if isinstance(v, CustomObjArgument):
            return {"custom_obj": {"name": v.name, "class_fqn": v.class_fqn}}
        raise DumpError(f"{where}: a {type(v).__module__}.{type(v).__qualname__} has no form in the archive")

    def tensor_meta(self, t: torch.Tensor, where: str) -> Dict[str, Any]:
        return {
            "shape": [self.dim(s) for s in t.shape],
            "stride": [self.dim(s) for s in t.stride()],
            "storage_offset": self.dim(t.storage_offset()),
            "dtype": _dtype_name(t.dtype),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
        }

    # ---- symbols

    def dim(self, s: Any) -> Any:
        """An int, or the expression of a symbolic one (``"s0"``, ``"3*s0"``)."""
        if isinstance(s, torch.SymInt):
            expr = s.node.expr
            if getattr(expr, "is_number", False):
                return int(expr)
            return self.sym_int(s)
        return int(s)

    def sym_int(self, s: torch.SymInt) -> str:
        return self.sym_expr(s)

    def sym_expr(self, s: Any) -> str:
        """The expression of a SymInt, SymBool or SymFloat as sympy prints it (``str``), its symbols noted."""
        expr = s.node.expr
        for symbol in sorted(expr.free_symbols, key=str):
            self._symbols.setdefault(str(symbol), (symbol, s.node.shape_env))
        return str(expr)

    def symbol_table(self) -> Dict[str, Dict[str, Any]]:
        """``symbols``: each symbol met, with its hint, its value range and its sympy assumptions.

        An unbacked symbol (``u0``, from a data-dependent size) has no hint (``null``); an unbounded end of a
        range is ``null``. ``assumptions`` are the symbol's own, in the order ``sympy.srepr`` prints them
        (``Symbol('s0', positive=True, integer=True)``), since torch writes them into ``.pt2`` archives.
        """
        out = {}
        for name, (symbol, shape_env) in self._symbols.items():
            # torch 2.11 renamed var_to_val (the example values of backed symbols) to backed_var_to_val.
            hints = getattr(shape_env, "backed_var_to_val", None) if shape_env is not None else None
            if hints is None and shape_env is not None:
                hints = shape_env.var_to_val
            hint = hints.get(symbol) if hints is not None else None
            bounds = shape_env.var_to_range.get(symbol) if shape_env is not None else None
            low, high = (bounds.lower, bounds.upper) if bounds is not None else (None, None)
            out[name] = {
                "hint": int(hint) if hint is not None else None,
                "min": int(low) if low is not None and _finite(low) else None,
                "max": int(high) if high is not None and _finite(high) else None,
                "assumptions": _assumptions(symbol),
            }
        return out


# ------------------------------------------------------------------------------------------- helpers


def _namedtuple_fields(spec: Any, into: Dict[str, List[str]]) -> None:
    """The field names of the namedtuple types a pytree spec names, by serialized type name, in the order
    torch.export's serializer meets them (``treespec_namedtuple_fields``): the specs' strings name the types
    but not their fields."""
    from collections import namedtuple

    from torch.utils import _pytree as pytree

    if spec.type is not None and (spec.type is namedtuple or pytree.is_namedtuple_class(spec.type)):
        name = pytree.SUPPORTED_SERIALIZED_TYPES[spec.context].serialized_type_name
        into.setdefault(name, [str(f) for f in spec.context._fields])
    for child in spec.children():
        _namedtuple_fields(child, into)


def _assumptions(symbol: Any) -> Dict[str, bool]:
    """A sympy symbol's assumptions as ``srepr`` prints them: sympy 1.12+ keeps them in
    ``_assumptions_orig``, earlier versions in ``_assumptions.generator``."""
    given = getattr(symbol, "_assumptions_orig", None)
    if given is None:
        given = symbol._assumptions.generator
    return {str(k): bool(v) for k, v in given.items()}


def _constant_bool(expr: Any) -> Optional[bool]:
    """The value of a sympy boolean that is a constant (``true`` / ``false``), else None."""
    import sympy  # torch's own dependency

    if expr is sympy.true:
        return True
    if expr is sympy.false:
        return False
    return None


def _child(path: str, kind: str, name: str) -> str:
    return f"{path}.{kind}.{name}" if name.isidentifier() else f"{path}.{kind}[{json.dumps(name)}]"


def _constants_read(root: torch.fx.GraphModule) -> Dict[int, Dict[str, Any]]:
    """The tensors and script objects that ``get_attr`` nodes read and that are neither parameters, buffers
    nor modules: by the id of the module that holds each, in order of first use."""
    out: Dict[int, Dict[str, Any]] = {}
    for gm in root.modules():
        if not isinstance(gm, torch.fx.GraphModule):
            continue
        for node in gm.graph.nodes:
            if node.op != "get_attr":
                continue
            *parents, attr = node.target.split(".")
            owner: Any = gm
            for atom in parents:
                owner = getattr(owner, atom, None)
                if owner is None:
                    raise DumpError(f"get_attr {node.name} reads {node.target}, which does not resolve")
            if attr in owner._parameters or attr in owner._buffers or attr in owner._modules:
                continue
            if not hasattr(owner, attr):
                raise DumpError(f"get_attr {node.name} reads {node.target}, which does not resolve")
            value = getattr(owner, attr)
            if not isinstance(value, (torch.Tensor, torch.ScriptObject)):
                raise DumpError(
                    f"get_attr {node.name} reads {node.target}, a {type(value).__qualname__}: only tensors and "
                    "script objects have a form in the archive"
                )
            out.setdefault(id(owner), {}).setdefault(attr, value)
    return out


def _engine_fields(state: Any, engine_index: int, where: str) -> List[Any]:
    """An engine record with its engine as bytes: ``__getstate__()`` gives it base64-encoded, as
    ``TRTEngine::serialize`` writes it."""
    if not isinstance(state, (list, tuple)) or not all(isinstance(f, (str, bytes)) for f in state):
        raise DumpError(f"{where}: the engine's __getstate__() gave a {type(state).__qualname__}, not a list of strings")
    fields = list(state)
    if not 0 <= engine_index < len(fields):
        raise DumpError(f"{where}: the record has {len(fields)} fields, no engine at index {engine_index}")
    engine = fields[engine_index]
    if isinstance(engine, str):
        try:
            engine = base64.b64decode(engine, validate=True)
        except binascii.Error as e:
            raise DumpError(f"{where}[{engine_index}]: the engine is not base64 ({e})") from None
    fields[engine_index] = bytes(engine)
    return fields


def _getstate(obj: Any) -> Any:
    """A torchbind object's ``__getstate__()`` (its ``def_pickle`` state). Python 3.11 gave every object a
    ``__getstate__``, which shadows the script method of that name, so the method is looked up by name."""
    has_method = getattr(obj, "_has_method", None)
    if callable(has_method) and has_method("__getstate__"):
        return obj._get_method("__getstate__")()
    return obj.__getstate__()


def _engine_index() -> int:
    try:
        return int(torch.ops.tensorrt.ENGINE_IDX())
    except (AttributeError, RuntimeError):
        return 3  # ENGINE_IDX of every Torch-TensorRT runtime ABI so far


def _storage_bytes(storage: Any) -> bytes:
    cpu = storage if storage.device.type == "cpu" else storage.cpu()
    n = cpu.nbytes()
    return ctypes.string_at(cpu.data_ptr(), n) if n else b""


def _is_fake(t: torch.Tensor) -> bool:
    from torch._subclasses.fake_tensor import FakeTensor

    return isinstance(t, FakeTensor)


def _dtype_name(dtype: torch.dtype) -> str:
    return _torch_name(dtype)


def _torch_name(x: Any) -> str:
    text = str(x)
    return text[len("torch."):] if text.startswith("torch.") else text


def _json_float(x: float) -> Any:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):
        return False


def _qualified_name(target: Any, where: str) -> str:
    """A call_function target as torch.export's serializer names it: ``torch.ops.aten.add.Tensor``,
    ``_operator.getitem``, ``torch._assert``."""
    module = getattr(target, "__module__", None)
    name = getattr(target, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        raise DumpError(f"{where}: the target {target!r} has no qualified name")
    if module.startswith("torch._ops"):
        module = "torch.ops" + module[len("torch._ops"):]
    return f"{module}.{name}"


def _operator_name(fn: Any) -> str:
    """A ``source_fn_stack`` entry's callable or module class as the serializer's ``serialize_operator``
    writes it."""
    if isinstance(fn, str):
        return fn
    return _qualified_name(fn, "source_fn_stack")


def _node_source(source: Any) -> Any:
    """One ``from_node`` entry (a ``NodeSource``) as the JSON the serializer writes for it."""
    if isinstance(source, dict):
        return source
    to_dict = getattr(source, "to_dict", None)
    if not callable(to_dict):
        raise DumpError(f"meta['from_node']: a {type(source).__qualname__} without to_dict(), which torch 2.11 has")
    return json.loads(json.dumps(to_dict()))


def _torch_tensorrt_version() -> Optional[str]:
    # Only reported when the program already imported it: the dump never imports it itself.
    module = sys.modules.get("torch_tensorrt")
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else None


def _zip(entries: Iterable[Tuple[str, bytes, bool]]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as z:
        for name, data, deflate in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            info.external_attr = _ZIP_MODE
            z.writestr(info, data)
    return buffer.getvalue()
