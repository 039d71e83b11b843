#!/usr/bin/env python3
"""The torch side of trtx's conformance check on the corpus: load trtx's ``.pt2`` programs with torch, run them
on the stand-in runtime with the corpus's recorded inputs and compare with the recorded outputs.

``--programs DIR`` holds what trtx wrote, per corpus program ``<name>``:

| file | what | expected outputs |
| --- | --- | --- |
| ``<name>.pt2`` | trtx's export of ``<name>.tgm`` | ``compiled`` |
| ``<name>_cross.pt2`` | trtx's cross-compiled export | ``compiled`` |
| ``<name>_loaded.pt2`` | trtx's load side of its cross-compiled archive | ``compiled`` |
| ``<name>.training.rewritten.pt2`` | trtx's read-then-write of torch's ``<name>.training.pt2`` | ``eager`` |
| ``<name>.core.rewritten.pt2`` | the same of ``<name>.core.pt2`` | ``core`` (``eager`` where absent) |
| ``<name>.ref.rewritten.pt2`` | the same of the reference's ``<name>.ref.pt2`` | ``compiled`` |
| ``<name>.ref_cross.rewritten.pt2`` | the same of ``<name>.ref_cross.pt2`` | ``compiled`` |

``--with-corpus`` also checks the corpus's own archives (``.training.pt2``, ``.core.pt2``, ``.ref.pt2``,
``.ref_cross.pt2``) the same way, as a control. For every file present: ``torch.export.load`` (after the
stand-in runtime is set up by the reference folder's own ``check_pt2.setup_runtime``), a cross-compiled program
through the seed's ``replace_execute_engine_no_op_node`` (as ``check_pt2.py`` does), then ``ep.module()`` on every
case of ``<name>.io.pt`` (hint, min, max) compared as pytrees with the expected outputs (same structure, dtypes,
shapes; values within rtol 1e-4 / atol 1e-5, exact for integers and bools), and the case just outside a dynamic
range (``refuse``), which must raise. It prints a markdown table and writes everything to ``--json``.

Exit status: 0 when every file present loads and matches on every case that has an expectation (at least one
case verified per file: a file without recorded cases, or whose cases all lack expectations, fails); 1 otherwise;
2 when no file was found; 3 when the runtime cannot be set up. Whether out-of-range inputs are refused is
reported, not part of the exit status.

    python3 python/corpus/check.py --reference .device/reference --corpus OUT --programs DIR [--json report.json]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import torch  # noqa: E402

import common  # noqa: E402
from common import log  # noqa: E402

# (file name pattern, expected outputs, what the file is)
TRTX_FILES: List[Tuple[str, str, str]] = [
    ("{}.pt2", "compiled", "trtx export of the .tgm"),
    ("{}_cross.pt2", "compiled", "trtx cross-compiled export of the .tgm"),
    ("{}_loaded.pt2", "compiled", "trtx load side of its cross-compiled archive"),
    ("{}.training.rewritten.pt2", "eager", "trtx rewrite of torch's training archive"),
    ("{}.core.rewritten.pt2", "core", "trtx rewrite of torch's core archive"),
    ("{}.ref.rewritten.pt2", "compiled", "trtx rewrite of the reference's archive"),
    ("{}.ref_cross.rewritten.pt2", "compiled", "trtx rewrite of the reference's cross-compiled archive"),
]
CORPUS_FILES: List[Tuple[str, str, str]] = [
    ("{}.training.pt2", "eager", "torch's training archive (control)"),
    ("{}.core.pt2", "core", "torch's core archive (control)"),
    ("{}.ref.pt2", "compiled", "the reference exporter's archive (control)"),
    ("{}.ref_cross.pt2", "compiled", "the reference exporter's cross-compiled archive (control)"),
]


def program_names(corpus: str) -> List[str]:
    """The corpus's programs: from its manifest, else from models.py, plus any ``<name>.io.pt`` found."""
    import models

    names: List[str] = []
    manifest = os.path.join(corpus, "manifest.json")
    if os.path.exists(manifest):
        try:
            with open(manifest, encoding="utf-8") as f:
                names = list(json.load(f).get("programs", {}))
        except (OSError, ValueError) as e:
            log(f"warning: {manifest} is unreadable ({e}); using models.py's program list")
    if not names:
        names = [p.name for p in models.PROGRAMS]
    for path in sorted(glob.glob(os.path.join(corpus, "*.io.pt"))):
        name = os.path.basename(path)[: -len(".io.pt")]
        if name not in names:
            names.append(name)
    return names


def load_io(corpus: str, name: str) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    path = os.path.join(corpus, f"{name}.io.pt")
    if not os.path.exists(path):
        return None, f"no {name}.io.pt in the corpus"
    try:
        # weights_only=False: the file pickles the corpus's pytree types (models.Pair, models.Batch...).
        return torch.load(path, weights_only=False, map_location="cpu"), None
    except Exception as e:  # noqa: BLE001
        return None, f"{name}.io.pt: {common.error_text(e)}"


def expected_for(case: Dict[str, Any], expect: str) -> Tuple[Any, Optional[str], str]:
    """(expected outputs, why there are none, which key was used)."""
    if expect == "core" and case.get("core") is None:
        expect = "eager"  # no core outputs recorded: the training program's are the expectation
    if expect not in case:
        return None, f"no '{expect}' outputs recorded", expect
    if case[expect] is None:
        return None, f"'{expect}' outputs were not recorded ({case.get(expect + '_error', 'no error recorded')})", expect
    return case[expect], None, expect


def run(module: Any, args: Any, kwargs: Any) -> Any:
    with torch.no_grad():
        out = module(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out


def check_file(path: str, name: str, kind: Tuple[str, str, str], io: Optional[Dict[str, Any]], io_error: Optional[str],
               seed: Any, device: torch.device, rtol: float, atol: float) -> Dict[str, Any]:
    _, expect, what = kind
    r: Dict[str, Any] = {"program": name, "file": os.path.basename(path), "path": path, "what": what,
                         "expect": expect, "loads": False, "cases": {}, "refused": "n/a"}
    t0 = time.perf_counter()
    try:
        ep = torch.export.load(path)
        r["loads"] = True
    except Exception as e:  # noqa: BLE001
        r["load_error"] = common.error_text(e)
        r["load_traceback"] = common.traceback_tail()
        return r
    r["load_s"] = round(time.perf_counter() - t0, 3)
    try:
        r["nodes"] = len(ep.graph_module.graph.nodes)
        r["engines"] = common.engine_nodes(ep.graph_module)
        r["cross_compiled"] = common.is_cross_compiled(ep.graph_module)
        r["range_constraints"] = {str(k): [str(v.lower), str(v.upper)] for k, v in ep.range_constraints.items()}
        if r["cross_compiled"]:
            ep = seed.replace_execute_engine_no_op_node(ep)
        module = ep.module()
    except Exception as e:  # noqa: BLE001
        r["module_error"] = common.error_text(e)
        r["module_traceback"] = common.traceback_tail()
        for label in _labels(io):
            r["cases"][label] = {"result": "error", "error": r["module_error"]}
        return r
    if io is None:
        r["io_error"] = io_error
        return r
    for case in io.get("cases", []):
        label = case.get("label", "?")
        expected, why, used = expected_for(case, expect)
        if why is not None:
            r["cases"][label] = {"result": "n/a", "why": why}
            continue
        try:
            out = run(module, common.to_device(case["args"], device), common.to_device(case["kwargs"], device))
        except Exception as e:  # noqa: BLE001
            r["cases"][label] = {"result": "error", "expected": used, "error": common.error_text(e),
                                 "traceback": common.traceback_tail()}
            continue
        cmp = common.compare_trees(out, expected, rtol=rtol, atol=atol)
        result: Dict[str, Any] = {"result": "same" if cmp["same"] else "different", "expected": used,
                                  "max_abs_diff": cmp["max_abs_diff"]}
        if not cmp["same"]:
            result["mismatches"] = cmp["mismatches"]
        r["cases"][label] = result
    refuse = io.get("refuse")
    if refuse is not None:
        try:
            run(module, common.to_device(refuse["args"], device), common.to_device(refuse["kwargs"], device))
            r["refused"] = "no"
            r["refuse_note"] = f"accepted {refuse.get('description')}"
        except Exception as e:  # noqa: BLE001 - a refusal is an exception
            r["refused"] = "yes"
            r["refuse_message"] = common.error_text(e, 1000)
    return r


def _labels(io: Optional[Dict[str, Any]]) -> List[str]:
    return [c.get("label", "?") for c in (io or {}).get("cases", [])]


def file_ok(r: Dict[str, Any]) -> bool:
    """Loads, runs, and gives the recorded outputs on every case that has them, at least one case verified."""
    results = [c["result"] for c in r["cases"].values()]
    return (r["loads"] and "module_error" not in r and "same" in results
            and all(x in ("same", "n/a") for x in results))


def first_problem(r: Dict[str, Any]) -> Optional[str]:
    """The first thing that went wrong with a file, in one line (None when nothing did)."""
    for key in ("load_error", "module_error", "io_error"):
        if r.get(key):
            return " ".join(str(r[key]).split())[:300]
    for label, c in r["cases"].items():
        if c["result"] in ("different", "error"):
            detail = c.get("error") or "; ".join(c.get("mismatches", [])[:2])
            return f"{label}: {' '.join(str(detail).split())[:300]}"
    if r["loads"] and "same" not in [c["result"] for c in r["cases"].values()]:
        return "no case verified"
    return None


def cell(r: Dict[str, Any], label: str) -> str:
    c = r["cases"].get(label)
    if c is None:
        return "–"
    return {"same": "same", "different": "**different**", "error": "**error**", "n/a": "n/a"}[c["result"]]


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="the reference tools (check_pt2.py, seed_exporter.py, shim/, trtstub/)")
    ap.add_argument("--corpus", required=True, help="what build.py wrote (<name>.io.pt, manifest.json, the archives)")
    ap.add_argument("--programs", required=True, help="the .pt2 files trtx wrote")
    ap.add_argument("--json", default=None, help="write the report here")
    ap.add_argument("--only", default=None, help="comma-separated program names")
    ap.add_argument("--with-corpus", action="store_true", help="also check the corpus's own archives (a control)")
    ap.add_argument("--rtol", type=float, default=common.DEFAULT_RTOL)
    ap.add_argument("--atol", type=float, default=common.DEFAULT_ATOL)
    ap.add_argument("--verbose", action="store_true", help="keep torch's warnings")
    a = ap.parse_args(argv)
    if not a.verbose:
        warnings.filterwarnings("ignore")
    common.set_numerics()
    t_start = time.perf_counter()
    try:
        _, seed = common.setup_runtime(a.reference)
    except Exception as e:  # noqa: BLE001
        log(f"runtime setup failed: {common.error_text(e)}\n{common.traceback_tail()}")
        return 3
    import models  # registers the corpus's pytree types before any archive or .io.pt is read

    device = torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    env = common.versions()
    log(f"torch {env['torch']}, device {env['device'] or 'cpu only'}; corpus {a.corpus}, programs {a.programs}")
    bad_registration = {k: v for k, v in models.REGISTRATION.items() if v not in ("registered", "already registered")}
    if bad_registration:
        log(f"warning: pytree registration failed: {bad_registration}")

    names = program_names(a.corpus)
    if a.only:
        wanted = [n.strip() for n in a.only.split(",") if n.strip()]
        names = [n for n in names if n in wanted] + [n for n in wanted if n not in names]
    rows: List[Dict[str, Any]] = []
    seen = set()
    for name in names:
        kinds = [(pattern, expect, what, a.programs) for pattern, expect, what in TRTX_FILES]
        if a.with_corpus:
            kinds += [(pattern, expect, what, a.corpus) for pattern, expect, what in CORPUS_FILES]
        present = [(os.path.join(folder, pattern.format(name)), (pattern, expect, what))
                   for pattern, expect, what, folder in kinds if os.path.exists(os.path.join(folder, pattern.format(name)))]
        if not present:
            continue
        io, io_error = load_io(a.corpus, name)
        for path, kind in present:
            seen.add(os.path.abspath(path))
            try:
                r = check_file(path, name, kind, io, io_error, seed, device, a.rtol, a.atol)
            except Exception as e:  # noqa: BLE001 - the last net: one file never stops the others
                r = {"program": name, "file": os.path.basename(path), "path": path, "what": kind[2], "expect": kind[1],
                     "loads": False, "cases": {}, "refused": "n/a", "load_error": f"check failed: {common.error_text(e)}",
                     "load_traceback": common.traceback_tail()}
            r["ok"] = file_ok(r)
            rows.append(r)
            cases = ", ".join(f"{k} {v['result']}" for k, v in r["cases"].items()) or "no cases"
            log(f"{'ok  ' if r['ok'] else 'FAIL'} {r['file']}: loads {'yes' if r['loads'] else 'no'}, {cases}, "
                f"refused {r['refused']}" + (f" ({why})" if (why := first_problem(r)) else ""))
    unmatched = sorted(os.path.basename(p) for p in glob.glob(os.path.join(a.programs, "*.pt2"))
                       if os.path.abspath(p) not in seen)
    if not a.only and unmatched:
        log(f"not checked (no corpus program of that name): {', '.join(unmatched)}")

    log("\n| program | file | loads | hint | min | max | refuses out of range |")
    log("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        log(f"| {r['program']} | {r['file']} | {'yes' if r['loads'] else '**no**'} | {cell(r, 'hint')} | "
            f"{cell(r, 'min')} | {cell(r, 'max')} | {r['refused']} |")
    failed = [r["file"] for r in rows if not r["ok"]]
    code = 2 if not rows else (1 if failed else 0)
    log(f"\n== {len(rows)} file(s): {len(rows) - len(failed)} ok, {len(failed)} failed; "
        f"refused out of range: {sum(r['refused'] == 'yes' for r in rows)} yes, {sum(r['refused'] == 'no' for r in rows)} no; "
        f"exit {code}")
    for f in failed:
        log(f"  failed: {f}")
    if not rows:
        log(f"no file of a corpus program found in {a.programs}")
    if a.json:
        report = {"environment": env, "corpus": os.path.abspath(a.corpus), "programs": os.path.abspath(a.programs),
                  "rtol": a.rtol, "atol": a.atol, "files": rows, "unmatched": unmatched, "failed": failed,
                  "exit": code, "total_s": round(time.perf_counter() - t_start, 1)}
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1, default=str)
            fh.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
