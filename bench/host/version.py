#!/usr/bin/env python3
"""`trtx --version` of an installed package, as cold processes: two untimed runs (they fill Node's compile
cache, as a first use after an install does), then N timed ones; prints the wall times and their median as
one JSON line, and writes it to OUT/version.json where OUT is set.

    python3 bench/host/version.py PROJECT [N]

PROJECT is a folder where trtx is installed (`npm install trtx-<version>.tgz` from `npm pack`), so that
PROJECT/node_modules/.bin/trtx is the command a user runs; the `node` on PATH runs it.
"""
import json
import os
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    project = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    cmd = [os.path.join(project, "node_modules", ".bin", "trtx"), "--version"]
    for _ in range(2):
        subprocess.run(cmd, check=True, capture_output=True, cwd=project)
    walls = []
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, cwd=project)
        walls.append((time.perf_counter() - t) * 1000)
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode()}")
    out = {"command": " ".join(cmd), "stdout": p.stdout.decode().strip(), "runs_ms": walls,
           "median_ms": statistics.median(walls), "min_ms": min(walls), "max_ms": max(walls)}
    print(json.dumps(out))
    if os.environ.get("OUT"):
        os.makedirs(os.environ["OUT"], exist_ok=True)
        with open(os.path.join(os.environ["OUT"], "version.json"), "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
