"""The helper's overhead per training step, on the example classifier (CPU).

    python3 python/bench/overhead.py [--blocks 20] [--block 50] [--threads 1]

Four ways of training the same model, in alternating blocks of steps so that a machine busy
with other work slows them alike: without the helper; attention_lens.step() with no
captures (loss, the gradient and weight norms of 5 groups, one transfer, written to a run
folder); with a capture every 10 steps; with a capture every step (4 probes × 2 layers × 4
heads of 12 × 12). Prints the median step time of each and the overhead against the first;
the target is under 5 % with a capture every 10 steps. --json prints the figures as JSON.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
from attention_lens.run import Run  # noqa: E402
from encoder_classifier import Classifier, make_batch, probes  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--block", type=int, default=50, help="steps per block")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    root = tempfile.mkdtemp(prefix="al-bench-")
    ps = probes(torch.Generator().manual_seed(1000))
    groups = ["embed", "pos", "encoder.layers.0", "encoder.layers.1", "head"]
    runs = {
        "without the helper": None,
        "step(), no captures": Run("bench-0", model=model, groups=groups, probes=ps, capture_every=0, runs_dir=root),
        "step(), capture every 10": Run("bench-10", model=model, groups=groups, probes=ps, capture_every=10, runs_dir=root),
        "step(), capture every step": Run("bench-1", model=model, groups=groups, probes=ps, capture_every=1, runs_dir=root),
    }
    batches = [make_batch(gen, args.batch) for _ in range(args.block)]
    times = {k: [] for k in runs}

    def block(run):
        t0 = time.perf_counter()
        for x, y in batches:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if run is not None:
                run.step(loss, model)
        return (time.perf_counter() - t0) / len(batches)

    for name, run in runs.items():  # warm up
        block(run)
    for _ in range(args.blocks):
        for name, run in runs.items():
            times[name].append(block(run))
    for run in runs.values():
        if run is not None:
            run.finish()
    base = statistics.median(times["without the helper"])
    out = {}
    for name, ts in times.items():
        m = statistics.median(ts)
        out[name] = {"msPerStep": m * 1000, "overheadPercent": (m - base) / base * 100}
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": args.threads, "batch": args.batch, "steps": args.blocks * args.block, "results": out}))
        return
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, {args.blocks} blocks of {args.block} steps each, medians")
    for name, r in out.items():
        print(f"  {name:30s} {r['msPerStep']:7.3f} ms/step   {r['overheadPercent']:+6.1f} %")


if __name__ == "__main__":
    main()
