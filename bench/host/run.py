#!/usr/bin/env python3
"""Whole cold processes of trtx's bundled CLI against the Python path, on chain modules of bench/chain.ts.

Usage (from the repository root; README.md beside this file has the whole recipe):

    python3 bench/host/run.py --bundles BASE dist --inputs IN --reference REF        # trtx and Python
    python3 bench/host/run.py --bundles BASE dist --inputs IN --skip-python --runs 7  # trtx only, A/B

run.py itself needs only Python's standard library; torch is imported only by the Python path's own
processes (py_chain.py), which run in --python (this interpreter by default).

What it does, in order, writing OUT/hostbench.json after every phase, so that a run cut short keeps what it
measured, and printing the tables at the end:

1. the machine: CPU model, CPUs, memory, load average; the node binary (--node) and its version;
2. builds the stand-in TensorRT runtime (REF/trtstub, with torch.utils.cpp_extension) in the background,
   unless --skip-python;
3. prepares the inputs that are not in IN: the `.pt2` and the cross-compiled `.pt2` of each chain module,
   exported by the first bundle that manages (untimed), which every bundle then reads; then starts each
   bundle twice, untimed, so that Node's compile cache is filled as after an install;
4. the JSON floor: JSON.parse of the `.tgm`'s module.json and of the `.pt2`'s model.json, and JSON.stringify
   of the parsed model.json, in one process of the same node (floor.mjs): what any JavaScript reader and
   writer of these files pays at least;
5. trtx: for each run, each size and each command, one cold process per bundle, the bundles' order
   alternating from run to run (A B, B A, ...): wall time (time.perf_counter around the process), CPU time
   and peak RSS (os.wait4 of the child);
6. the Python path (py_chain.py): fresh python processes that build the same chain module, export it with
   the reference exporter (Torch-TensorRT's seed exporter, REF/seed_exporter.py, on the stand-in runtime)
   and save it with torch.export.save, each step timed inside the process, sizes alternating; the first
   --py-extras-runs runs also export cross-compiled and save that, and torch.export.load the plain archive.

With --deadline (seconds from the start) the trtx runs stop early enough to leave --python-reserve seconds
to the Python path, and Python runs that would not finish in time are skipped; what ran is reported.

Limits:
- The Python path builds its module in torch.fx, not from the `.tgm`, and it differs from chain.ts's in
  three ways: the engine call's meta["val"] is a list of one tensor (the seed exporter requires it); every
  node has a FakeTensor of its own, as a trace makes them (chain.ts gives every node the same value); node
  names are the ones torch.fx gives. A Python process's wall time includes building the module in torch.fx,
  where trtx's export reads the `.tgm` instead; the per-step times tell the steps apart.
- The engine is the stand-in runtime's (a few bytes, no TensorRT), so neither side pays for engine bytes.
- Wall times include process start and exit; they depend on the machine, its load and its disks. Compare
  bundles within one run (the A/B alternation is for that), not across machines.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
T0 = time.perf_counter()
RESULT = {"errors": []}


def elapsed():
    return time.perf_counter() - T0


def log(msg):
    print(f"[{elapsed():6.1f}s] {msg}", flush=True)


def save(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    RESULT["elapsed_s"] = round(elapsed(), 1)
    tmp = os.path.join(out_dir, "hostbench.json.tmp")
    with open(tmp, "w") as f:
        json.dump(RESULT, f, indent=1)
    os.replace(tmp, os.path.join(out_dir, "hostbench.json"))


def error(msg):
    log("ERROR " + msg)
    RESULT["errors"].append(msg[:4000])


# --- processes


def measure(argv, cwd, env=None, timeout=600, log_to=None):
    """One process: wall ms (perf_counter around start and exit), CPU ms and peak RSS MiB of the child.
    It is killed after `timeout` seconds (None: never)."""
    log_to = log_to or os.path.join(cwd, "last.log")
    with open(log_to, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, p.kill) if timeout is not None else None
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = (time.perf_counter() - t0) * 1000.0
    p.returncode = os.waitstatus_to_exitcode(status)
    rc = p.returncode
    with open(log_to, "rb") as f:
        text = f.read().decode("utf8", "replace")
    return {
        "wall_ms": round(wall, 1),
        "cpu_ms": round((ru.ru_utime + ru.ru_stime) * 1000.0, 1),
        "peak_mib": round(ru.ru_maxrss / 1024.0, 1),
        "rc": rc,
    }, text


def summary(xs):
    if not xs:
        return None
    return {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1), "n": len(xs)}


# --- the machine


def host_info():
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    info["mem_gib"] = round(int(line.split()[1]) / 2**20, 1)
        with open("/proc/loadavg") as f:
            info["loadavg_at_start"] = f.read().strip()
    except OSError as e:
        info["proc_error"] = str(e)
    return info


def find_node(name):
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(
            f"--node {name}: not found. Give the path of a Node 24 binary, e.g. a copy of the repository's pinned "
            "`node` devDependency, node_modules/node/bin/node")
    return os.path.abspath(path)


def build_trtstub(python, ref, build_dir):
    os.makedirs(build_dir, exist_ok=True)
    code = (
        "import os, time, torch; t=time.perf_counter(); from torch.utils.cpp_extension import load; "
        f"load(name='trtstub', sources=[{os.path.join(ref, 'trtstub', 'trtstub.cpp')!r}], "
        f"build_directory={build_dir!r}, extra_cflags=['-O1'], is_python_module=False, verbose=False); "
        "print('TORCH', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0), "
        "'build_s', round(time.perf_counter()-t, 1))"
    )
    run, text = measure([python, "-c", code], cwd=build_dir, timeout=600)
    lib = os.path.join(build_dir, "trtstub.so")
    return run, text, lib


# --- trtx


def bundle_bin(d):
    """The CLI of a bundle folder: a copy of dist/ (DIR/cli/trtx.js), or a folder holding one (DIR/dist/...)."""
    for cand in (os.path.join(d, "cli", "trtx.js"), os.path.join(d, "dist", "cli", "trtx.js")):
        if os.path.exists(cand):
            return cand
    raise FileNotFoundError(f"{d}: neither cli/trtx.js nor dist/cli/trtx.js (a bundle is a copy of dist/)")


def bundle_name(d):
    """The folder's name; a folder named dist is named by its parent, except the repository's own dist/."""
    base = os.path.basename(d)
    if base == "dist" and d != os.path.join(REPO, "dist"):
        return os.path.basename(os.path.dirname(d)) or base
    return base


def bundle_commit(d):
    """The commit a bundle was built from: its COMMIT file (make-bundle.sh), or, for the repository's own
    dist/, the checkout's HEAD (the build may hold uncommitted changes, which this does not tell)."""
    for f in (os.path.join(d, "COMMIT"), os.path.join(os.path.dirname(d), "COMMIT")):
        if os.path.isfile(f) and bundle_bin(d).startswith(os.path.dirname(f) + os.sep):
            with open(f) as fh:
                return fh.read().strip()
    if d == os.path.join(REPO, "dist"):
        res = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True)
        if res.returncode == 0:
            return "checkout at " + res.stdout.strip()
    return None


def files_of(n, inputs, prep, out):
    return {
        "tgm": os.path.join(inputs, f"chain_{n}.tgm"),
        "pt2": os.path.join(prep, f"chain_{n}.pt2"),
        "cross": os.path.join(prep, f"chain_{n}_cross.pt2"),
        "out": os.path.join(out, f"out_{n}.pt2"),
        "out_cross": os.path.join(out, f"out_{n}_cross.pt2"),
        "loaded": os.path.join(out, f"loaded_{n}.pt2"),
        "html_pt2": os.path.join(out, f"report_{n}_pt2.html"),
        "html_tgm": os.path.join(out, f"report_{n}_tgm.html"),
    }


COMMANDS = [
    ("export", lambda f: ["export", f["tgm"], "-o", f["out"], "-q"]),
    ("export --cross-compile", lambda f: ["export", f["tgm"], "--cross-compile", "-o", f["out_cross"], "-q"]),
    ("load (cross .pt2)", lambda f: ["load", f["cross"], "-o", f["loaded"], "-q"]),
    ("inspect .tgm", lambda f: ["inspect", f["tgm"]]),
    ("inspect .pt2", lambda f: ["inspect", f["pt2"]]),
    ("verify .tgm", lambda f: ["verify", f["tgm"]]),
    ("verify .pt2", lambda f: ["verify", f["pt2"]]),
    ("report .pt2", lambda f: ["report", f["pt2"], "-o", f["html_pt2"]]),
    ("report .tgm", lambda f: ["report", f["tgm"], "-o", f["html_tgm"]]),
]


def zip_entry(path, suffix, dest):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith(suffix))
        with z.open(name) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
    return dest


# --- tables


def fmt_cell(s):
    if s is None:
        return "-"
    return f"{s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f})"


def print_tables():
    h = RESULT.get("host", {})
    print()
    print(f"host: {h.get('cpu_model')}, {h.get('cpus_usable', h.get('cpus'))} CPUs, {h.get('mem_gib')} GiB; "
          f"node {RESULT.get('node_version')}; python {h.get('python')}; torch {RESULT.get('torch')}; gpu {RESULT.get('gpu')}")
    rows = RESULT.get("trtx", [])
    bundles = RESULT.get("bundles", [])
    if rows:
        print(f"\ntrtx, cold processes: wall ms median (min-max) of the runs; cpu ms and peak MiB medians "
              f"(runs: {RESULT.get('trtx_runs_done')})")
        head = f"{'command':24}{'nodes':>7}"
        for b in bundles:
            head += f"  {b:>22}{'cpu':>7}{'MiB':>6}"
        if len(bundles) > 1:
            head += "".join(f"  {b + '/' + bundles[0]:>14}" for b in bundles[1:])
        print(head)
        keys = []
        for r in rows:
            k = (r["command"], r["nodes"])
            if k not in keys:
                keys.append(k)
        for k in keys:
            line = f"{k[0]:24}{k[1] or '-':>7}"
            med = {}
            for b in bundles:
                r = next((r for r in rows if (r["command"], r["nodes"]) == k and r["bundle"] == b), None)
                if r is None or r.get("failed"):
                    line += f"  {'FAILED' if r else '-':>22}{'':>7}{'':>6}"
                    continue
                med[b] = r["wall_ms"]["median"] if r["wall_ms"] else None
                line += f"  {fmt_cell(r['wall_ms']):>22}{r['cpu_ms']['median']:>7.0f}{r['peak_mib']['median']:>6.0f}"
            for b in bundles[1:]:
                if med.get(b) and med.get(bundles[0]):
                    line += f"  {med[b] / med[bundles[0]]:>14.2f}"
                else:
                    line += f"  {'-':>14}"
            print(line)
    fl = RESULT.get("floor")
    if fl:
        print("\nJSON floor, the same node, one process: ms median (min-max) of the repeats")
        print(f"{'nodes':>7}  {'module.json MB':>14}{'parse':>16}  {'model.json MB':>13}{'parse':>16}{'stringify':>16}")
        for n, v in fl.items():
            m, d = v.get("module", {}), v.get("model", {})
            print(f"{n:>7}  {m.get('bytes', 0) / 1e6:>14.1f}{fmt_cell(m.get('parse')):>16}  {d.get('bytes', 0) / 1e6:>13.1f}"
                  f"{fmt_cell(d.get('parse')):>16}{fmt_cell(d.get('stringify')):>16}")
    py = RESULT.get("python")
    if py and py.get("summary"):
        s = py["summary"]
        sizes = list(s.keys())
        print("\nPython path (fresh python3 process; ms median (min-max) of the runs)")
        print(f"{'step':38}" + "".join(f"{n:>24}" for n in sizes))
        steps = []
        for n in sizes:
            for k in s[n]["steps"]:
                if k not in steps:
                    steps.append(k)
        for k in steps + ["whole process (wall)", "whole process, plain runs (wall)", "plain export process (wall - cross - load)"]:
            cells = []
            for n in sizes:
                v = s[n]["steps"].get(k) if k in s[n]["steps"] else s[n].get(k)
                cells.append(fmt_cell(v))
            print(f"{k:38}" + "".join(f"{c:>24}" for c in cells))
        print(f"{'runs ok / tried':38}" + "".join(f"{str(s[n]['ok']) + ' / ' + str(s[n]['tried']):>24}" for n in sizes))
        if rows:
            for b in bundles:
                cells = []
                for n in sizes:
                    r = next((r for r in rows if r["command"] == "export" and str(r["nodes"]) == str(n) and r["bundle"] == b), None)
                    pe = s[n].get("plain export process (wall - cross - load)")
                    cells.append(f"{pe['median'] / r['wall_ms']['median']:.1f}x" if r and r.get("wall_ms") and pe else "-")
                print(f"{'python export process / trtx export, ' + b:38}" + "".join(f"{c:>24}" for c in cells))
    if RESULT["errors"]:
        print("\nerrors:")
        for e in RESULT["errors"]:
            print("  " + e[:1500].replace("\n", "\n  "))


# --- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node", default="node",
                    help="the node binary that runs every bundle (a name on PATH or a path; default: node)")
    ap.add_argument("--bundles", nargs="+", metavar="DIR",
                    help="bundle folders, each a copy of a dist/ holding cli/trtx.js (make-bundle.sh makes them); "
                         "the first is the base the others are compared with; default: this repository's dist/")
    ap.add_argument("--inputs", metavar="DIR", required=True,
                    help="folder holding chain_<n>.tgm for every --sizes n (node bench/chain.ts DIR 10000 50000)")
    ap.add_argument("--reference", metavar="DIR",
                    help="the reference tools: seed_exporter.py, shim/, trtstub/ (needed unless --skip-python)")
    ap.add_argument("--out", metavar="DIR", default=os.environ.get("OUT") or "out",
                    help="where hostbench.json goes (default: $OUT, else ./out)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[10000, 50000], help="chain sizes, in nodes")
    ap.add_argument("--runs", type=int, default=5, help="trtx runs per command, size and bundle")
    ap.add_argument("--commands", help="comma-separated subset of the trtx commands (names as printed)")
    ap.add_argument("--py-runs", type=int, default=3, help="Python path runs per size")
    ap.add_argument("--py-extras-runs", type=int, default=1,
                    help="how many of the first Python runs also do the cross-compiled export + save and torch.export.load")
    ap.add_argument("--py-no-cross", action="store_true", help="leave the cross-compiled export out of the Python path")
    ap.add_argument("--py-no-load", action="store_true", help="leave torch.export.load out of the Python path")
    ap.add_argument("--python", default=sys.executable,
                    help="the Python (with torch) that runs the Python path and builds the stand-in runtime "
                         "(default: this one)")
    ap.add_argument("--skip-python", action="store_true", help="trtx only")
    ap.add_argument("--skip-trtx", action="store_true", help="no trtx runs (the inputs and the JSON floor still run)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="seconds from the start by which everything should be done (default: none)")
    ap.add_argument("--python-reserve", type=float, default=250.0,
                    help="with --deadline: seconds the trtx runs leave to the Python path")
    ap.add_argument("--floor-repeats", type=int, default=5, help="repeats of each JSON.parse / JSON.stringify")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "trtx-hostbench"),
                    help="scratch folder for the archives written (its w/ is emptied first)")
    args = ap.parse_args()

    # Everything named on the command line is checked before anything runs.
    try:
        node = find_node(args.node)
    except FileNotFoundError as e:
        ap.error(str(e))
    bundle_dirs = [os.path.abspath(d) for d in (args.bundles or [os.path.join(REPO, "dist")])]
    bundles = []
    for d in bundle_dirs:
        try:
            binp = bundle_bin(d)
        except FileNotFoundError as e:
            ap.error(f"--bundles {e}" + ("; run npm run build" if d == os.path.join(REPO, "dist") else ""))
        name = bundle_name(d)
        k = 2
        while name in [b for b, _ in bundles]:
            name = f"{bundle_name(d)}-{k}"
            k += 1
        bundles.append((name, binp))
    args.inputs = os.path.abspath(args.inputs)
    for n in args.sizes:
        tgm = os.path.join(args.inputs, f"chain_{n}.tgm")
        if not os.path.isfile(tgm):
            ap.error(f"--inputs: {tgm} is missing; make it with `node bench/chain.ts {args.inputs} {n}`")
    ref = None
    if not args.skip_python:
        if not args.reference:
            ap.error("--reference DIR is needed for the Python path (or --skip-python)")
        ref = os.path.abspath(args.reference)
        for part in ("seed_exporter.py", os.path.join("shim", "torch_tensorrt"), os.path.join("trtstub", "trtstub.cpp")):
            if not os.path.exists(os.path.join(ref, part)):
                ap.error(f"--reference: {os.path.join(ref, part)} is missing")

    out_dir = os.path.abspath(args.out)
    RESULT["out_dir"] = out_dir
    work = os.path.abspath(args.work)
    wdir = os.path.join(work, "w")
    shutil.rmtree(wdir, ignore_errors=True)
    os.makedirs(wdir, exist_ok=True)
    RESULT["host"] = host_info()
    RESULT["config"] = vars(args)
    log(f"host: {RESULT['host']}")

    # 2. the stand-in runtime, built in the background while the inputs are prepared
    build = {}
    builder = None
    if not args.skip_python:
        def do_build():
            try:
                build["result"] = build_trtstub(args.python, ref, os.path.join(work, "trtstub"))
            except BaseException as e:  # noqa: BLE001
                build["result"] = ({"rc": -1, "wall_ms": 0}, f"{type(e).__name__}: {e}", "")

        builder = threading.Thread(target=do_build)
        builder.start()

    # 1. node and the bundles
    RESULT["node"] = node
    RESULT["node_version"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    log(f"node {node} {RESULT['node_version']}")
    RESULT["bundles"] = [b for b, _ in bundles]
    RESULT["bundle_bins"] = {b: p for b, p in bundles}
    RESULT["bundle_commits"] = {b: bundle_commit(d) for (b, _), d in zip(bundles, bundle_dirs)}
    log(f"bundles: {RESULT['bundle_commits']}")
    save(out_dir)

    # 3. the .pt2 inputs, made by the first bundle that manages
    prep = os.path.join(wdir, "prep")
    os.makedirs(prep, exist_ok=True)
    RESULT["prep"] = {}
    for n in args.sizes:
        f = files_of(n, args.inputs, prep, prep)
        for b, binp in bundles:
            r1, t1 = measure([node, binp, "export", f["tgm"], "-o", f["pt2"], "-q"], cwd=prep)
            r2, t2 = measure([node, binp, "export", f["tgm"], "--cross-compile", "-o", f["cross"], "-q"], cwd=prep)
            if r1["rc"] == 0 and r2["rc"] == 0:
                RESULT["prep"][str(n)] = {"by": b, "export": r1, "export_cross": r2,
                                          "pt2_bytes": os.path.getsize(f["pt2"]), "cross_bytes": os.path.getsize(f["cross"])}
                break
            error(f"prep {n} with {b} failed: {t1[-1500:]} {t2[-1500:]}")
        log(f"prep {n}: {RESULT['prep'].get(str(n))}")
    # warm-up: each bundle starts twice (Node's compile cache is filled, as after installing)
    RESULT["warmup"] = {}
    for b, binp in bundles:
        RESULT["warmup"][b] = [measure([node, binp, "--version"], cwd=wdir)[0] for _ in range(2)]
    save(out_dir)

    lib = None
    if builder is not None:
        builder.join()
        run, text, lib = build["result"]
        RESULT["trtstub_build"] = {**run, "output_tail": text[-1500:], "note": "built while the inputs were prepared"}
        for line in text.splitlines():
            if line.startswith("TORCH "):
                parts = line.split()
                RESULT["torch"] = parts[1]
                RESULT["gpu"] = " ".join(parts[2:-2])
        if run["rc"] != 0 or not os.path.exists(lib):
            error(f"trtstub build failed (rc {run['rc']}): {text[-3000:]}")
            lib = None
        log(f"trtstub build: rc {run['rc']} in {run['wall_ms'] / 1000:.1f} s; torch {RESULT.get('torch')}; gpu {RESULT.get('gpu')}")
        save(out_dir)

    # 4. the JSON floor
    RESULT["floor"] = {}
    for n in args.sizes:
        f = files_of(n, args.inputs, prep, prep)
        if not os.path.exists(f["pt2"]):
            continue
        mj = zip_entry(f["tgm"], "module.json", os.path.join(wdir, f"module_{n}.json"))
        pj = zip_entry(f["pt2"], "models/model.json", os.path.join(wdir, f"model_{n}.json"))
        res = subprocess.run([node, os.path.join(HERE, "floor.mjs"), str(args.floor_repeats), f"module={mj}", f"model={pj}"],
                             capture_output=True, text=True)
        if res.returncode != 0:
            error(f"floor {n}: {res.stderr[-2000:]}")
            continue
        raw = json.loads(res.stdout.strip().splitlines()[-1])
        RESULT["floor"][str(n)] = {
            k: {"bytes": v["bytes"], "parse": summary(v["parse_ms"]), "stringify": summary(v["stringify_ms"]), "raw": v}
            for k, v in raw.items()
        }
        os.remove(mj)
        os.remove(pj)
    log(f"floor: { {n: {k: v['parse']['median'] for k, v in d.items()} for n, d in RESULT['floor'].items()} }")
    save(out_dir)

    # 5. trtx rounds
    commands = COMMANDS
    if args.commands:
        wanted = [c.strip() for c in args.commands.split(",")]
        commands = [c for c in COMMANDS if c[0] in wanted]
    runs = {}  # (bundle, command, nodes) -> list of runs
    failed = {}
    deadline = float("inf") if args.deadline is None else args.deadline
    trtx_deadline = deadline - (0 if args.skip_python or lib is None else args.python_reserve)
    done = 0
    if not args.skip_trtx:
        last_round = None
        for r in range(args.runs):
            if last_round is not None and elapsed() + last_round > trtx_deadline:
                error(f"trtx: stopped after {done} runs of {args.runs}: the deadline ({trtx_deadline:.0f} s) is near")
                break
            t_round = time.perf_counter()
            order = bundles if r % 2 == 0 else list(reversed(bundles))
            jobs = [("--version", 0)] + [(name, n) for n in args.sizes for name, _ in commands]
            for name, n in jobs:
                for b, binp in order:
                    key = (b, name, n)
                    if key in failed:
                        continue
                    out = os.path.join(wdir, b)
                    os.makedirs(out, exist_ok=True)
                    real = ["--version"] if name == "--version" else COMMAND_ARGS[name](files_of(n, args.inputs, prep, out))
                    m, text = measure([node, binp, *real], cwd=out)
                    m["run"] = r
                    m["position"] = order.index((b, binp))
                    if m["rc"] != 0:
                        failed[key] = text[-2000:]
                        error(f"trtx {b} {name} {n}: rc {m['rc']}: {text[-1500:]}")
                        continue
                    runs.setdefault(key, []).append(m)
            done += 1
            last_round = time.perf_counter() - t_round
            log(f"trtx run {r + 1}/{args.runs} in {last_round:.1f} s")
            RESULT["trtx_runs_done"] = done
            RESULT["trtx"] = trtx_rows(bundles, commands, args.sizes, runs, failed)
            save(out_dir)

    # 6. the Python path
    if not args.skip_python and lib is not None:
        env = dict(os.environ, TRTSTUB_LIB=lib)
        env.pop("TRTSTUB_SRC", None)
        py = {"runs": {str(n): [] for n in args.sizes}}
        RESULT["python"] = py
        last = {}
        pyout = os.path.join(wdir, "py")
        os.makedirs(pyout, exist_ok=True)
        for r in range(args.py_runs):
            for n in args.sizes:
                left = deadline - elapsed()
                est = last.get(n)
                if est is None:
                    smaller = [last[m] * n / m for m in last if m < n]
                    est = max(smaller) if smaller else 30.0
                if left < est * 1.1 + 5:
                    error(f"python {n} run {r + 1}: skipped, {left:.0f} s left, about {est:.0f} s needed")
                    continue
                argv = [args.python, os.path.join(HERE, "py_chain.py"), "--nodes", str(n),
                        "--reference", ref, "--out", pyout]
                extras = r < args.py_extras_runs
                if extras and not args.py_no_cross:
                    argv.append("--cross")
                if extras and not args.py_no_load:
                    argv.append("--load")
                m, text = measure(argv, cwd=pyout, env=env, timeout=None if args.deadline is None else max(10, left - 3))
                last[n] = m["wall_ms"] / 1000.0
                rec = {**m, "run": r}
                rep = None
                for line in reversed(text.strip().splitlines()):
                    try:
                        rep = json.loads(line)
                        break
                    except ValueError:
                        continue
                if rep is None:
                    rec["error"] = "no JSON line: " + text[-3000:]
                else:
                    rec.update(rep)
                    if rep.get("partial") and not rep.get("error"):
                        rec["error"] = f"the process ended (rc {m['rc']}) after the steps listed: " + text[-2000:]
                if rec.get("error") or m["rc"] != 0:
                    error(f"python {n} run {r + 1}: rc {m['rc']}: {str(rec.get('error'))[-2500:]}")
                py["runs"][str(n)].append(rec)
                log(f"python {n} run {r + 1}: {m['wall_ms'] / 1000:.1f} s, rc {m['rc']}")
                if rec.get("info", {}).get("gpu"):
                    RESULT["gpu"] = rec["info"]["gpu"]
                py["summary"] = python_summary(py["runs"])
                save(out_dir)
    print_tables()
    save(out_dir)


COMMAND_ARGS = dict(COMMANDS)


def trtx_rows(bundles, commands, sizes, runs, failed):
    rows = []
    keys = [("--version", 0)] + [(name, n) for n in sizes for name, _ in commands]
    for name, n in keys:
        for b, _ in bundles:
            rs = runs.get((b, name, n), [])
            row = {"bundle": b, "command": name, "nodes": n,
                   "wall_ms": summary([x["wall_ms"] for x in rs]),
                   "cpu_ms": summary([x["cpu_ms"] for x in rs]),
                   "peak_mib": summary([x["peak_mib"] for x in rs]),
                   "runs": rs}
            if (b, name, n) in failed:
                row["failed"] = failed[(b, name, n)]
            rows.append(row)
    return rows


def python_summary(runs):
    out = {}
    for n, rs in runs.items():
        ok = [r for r in rs if not r.get("error") and r.get("rc") == 0]
        steps = {}
        for r in rs:  # a failed run's steps up to its failure count too
            for k, ms in r.get("steps", []):
                steps.setdefault(k, []).append(ms)
        extra = ("seed export (cross)", "torch.export.save (cross)", "torch.export.load")
        plain = [r["wall_ms"] - sum(ms for k, ms in r.get("steps", []) if k in extra) for r in ok]
        out[n] = {
            "tried": len(rs),
            "ok": len(ok),
            "steps": {k: summary(v) for k, v in steps.items()},
            "whole process (wall)": summary([r["wall_ms"] for r in ok]),
            "whole process, plain runs (wall)": summary([r["wall_ms"] for r in ok
                                                         if not any(k in extra for k, _ in r.get("steps", []))]),
            "plain export process (wall - cross - load)": summary(plain),
            "peak_mib": summary([r["peak_mib"] for r in ok]),
            "info": ok[-1].get("info") if ok else (rs[-1].get("info") if rs else None),
        }
    return out


if __name__ == "__main__":
    try:
        main()
    except SystemExit:  # --help, a usage error: nothing has run
        raise
    except BaseException as e:  # noqa: BLE001
        import traceback

        error(f"run.py: {type(e).__name__}: {e}\n{traceback.format_exc()[-3000:]}")
        print_tables()
        if RESULT.get("out_dir"):
            save(RESULT["out_dir"])
        sys.exit(1)
