"""The shared workloads of bench/core.mjs on the upstream Python SOE engine, for `SOE_UPSTREAM=... npm run bench`.

Reads {"repeats": n, "sampleSeconds": s, "workloads": [...]} (as bench/core.mjs builds them) on stdin,
runs each workload warmed up, and prints one JSON line: workload name -> node runs per second of CPU
time (median of the samples). A sample is as many runs as fill about `sampleSeconds` (at least one), so
a workload that takes milliseconds is not timed on one run alone.
The upstream checkout is given as the first argument; nothing of it is copied into this repository.
"""
import json
import math
import os
import statistics
import sys
import time

root = sys.argv[1]
for candidate in (os.path.join(root, "src"), root):
    if os.path.isdir(os.path.join(candidate, "soe")):
        sys.path.insert(0, candidate)
        break

from soe import create_all_nodes, orchestrate  # noqa: E402
from soe.local_backends import create_in_memory_backends  # noqa: E402


def inc(n):
    return {"n": n + 1}


def call_llm(prompt, config):
    return '{"answer": "ok"}'


def run_once(w):
    """One run, timed alone (the set-up before it is not)."""
    backends = create_in_memory_backends()
    _nodes, broadcast = create_all_nodes(backends, call_llm=call_llm, tools_registry={"inc": inc})
    t0 = time.process_time()
    orchestrate(
        config=w["yaml"],
        initial_workflow_name="bench",
        initial_signals=["S0"],
        initial_context=w.get("context") or {},
        backends=backends,
        broadcast_signals_caller=broadcast,
    )
    return time.process_time() - t0


def sample(w, runs):
    """CPU seconds per run over `runs` runs."""
    return sum(run_once(w) for _ in range(runs)) / runs


def main():
    spec = json.load(sys.stdin)
    repeats = spec["repeats"]
    sample_s = spec.get("sampleSeconds", 0.2)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 200000))
    out = {}
    for w in spec["workloads"]:
        warm = run_once(w)
        runs = max(1, math.ceil(sample_s / max(warm, 1e-6)))
        times = [sample(w, runs) for _ in range(repeats)]
        out[w["name"]] = round(w["nodeRuns"] / statistics.median(times))
        print(f"upstream {w['name']}: {out[w['name']]} nodes/s", file=sys.stderr)
    print(json.dumps(out))


main()
