"""The example classifier under torchrun / DistributedDataParallel, with Attention Lens watching.

    torchrun --standalone --nproc_per_node=2 python/examples/ddp_classifier.py --steps 500

Every rank calls attention_lens.init and step; rank 0 records the run (one run folder) and
decides at every step boundary, so a pause, a single step or a stop from VS Code takes effect
on every rank at the same step. The gradient norms it records are those after DDP's
all-reduce: the global gradient's, the same on every rank. CPU and the gloo backend by
default (--backend nccl on GPUs).
"""

import argparse
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import attention_lens as al  # noqa: E402
from encoder_classifier import COLOURS, Classifier, make_batch, probes  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32, help="per rank")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--capture-every", type=int, default=10)
    ap.add_argument("--backend", default="gloo")
    ap.add_argument("--name", default="ddp-classifier")
    ap.add_argument("--print-every", type=int, default=100, help="each rank prints `rank R step S` every so many steps")
    args = ap.parse_args()

    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if args.backend == "nccl" else torch.device("cpu")
    torch.manual_seed(1)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = Classifier().to(device)
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(100 + rank)  # each rank its own batches
    al.declare("updates", "series", label="optimizer updates (rank 0)")
    al.init(
        args.name,
        model=ddp,
        config=dict(vars(args), world=world),
        groups=["embed", "pos", "encoder.layers.0", "encoder.layers.1", "head"],
        probes=[dict(p, input=p["input"].to(device)) for p in probes(torch.Generator().manual_seed(1000))],
        capture_every=args.capture_every,
        total_steps=args.steps,
        classes=COLOURS,
    )
    try:
        for i in range(args.steps):
            x, y = make_batch(gen, args.batch)
            logits = ddp(x.to(device))
            loss = F.cross_entropy(logits, y.to(device))
            opt.zero_grad()
            loss.backward()  # DDP all-reduces the gradients here
            opt.step()
            al.log_series("updates", i + 1)
            al.step(loss, ddp, accuracy=(logits.argmax(1) == y.to(device)).float().mean())
            if args.print_every and (i + 1) % args.print_every == 0:
                print(f"rank {rank} step {i + 1}", flush=True)
        al.finish()
    except al.Stopped as s:
        print(f"rank {rank} stopped after step {s.step}", flush=True)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
