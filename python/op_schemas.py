"""Write the schema of every operator that torch registers when it is imported, as trtx's built-in table.

trtx has no live torch, and the ``.pt2`` format names every argument of a call by its operator's schema
(``shared/spec/pt2-format.md`` §2.5). This script collects, in one torch process, the schema strings
(``str(op._schema)``) of:

* every operator the dispatcher knows after ``import torch`` (``torch._C._dispatch_get_all_op_names()``:
  aten, prims, quantized, the ops Python code registers at import through ``torch.library``, ...);
* every schema of the TorchScript registry (``torch._C._jit_get_all_schemas()``), which adds the
  TorchScript-only overloads (``aten::add.int`` and the like) that exported programs also call.

It writes them sorted, with the torch version they came from, as the JSON that
``src/program/schemas/torch.json`` holds::

    python3 python/op_schemas.py src/program/schemas/torch.json

Run it with the torch whose programs trtx writes (2.11). Only torch and the standard library are used.
"""
from __future__ import annotations

import json
import sys

import torch


def schemas() -> tuple[list[str], list[str]]:
    """The schema strings (sorted, unique) and the operator names whose schema could not be read."""
    out: set[str] = set()
    unreadable: list[str] = []
    for name in torch._C._dispatch_get_all_op_names():
        qualified, _, overload = name.partition(".")
        try:
            schema = torch._C._get_schema(qualified, overload)
        except RuntimeError:
            unreadable.append(name)
            continue
        out.add(str(schema))
    for schema in torch._C._jit_get_all_schemas():
        out.add(str(schema))
    return sorted(out), sorted(unreadable)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    texts, unreadable = schemas()
    record = {
        "torch": torch.__version__,
        "generator": "python/op_schemas.py",
        "sources": ["torch._C._dispatch_get_all_op_names()", "torch._C._jit_get_all_schemas()"],
        "schemas": texts,
    }
    with open(argv[1], "w", encoding="utf-8") as f:
        json.dump(record, f, indent=0, ensure_ascii=False)
        f.write("\n")
    print(f"{len(texts)} schemas from torch {torch.__version__}; {len(unreadable)} names without a schema: {unreadable[:10]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
