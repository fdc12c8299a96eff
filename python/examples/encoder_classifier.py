"""A small nn.TransformerEncoder classifier, trained with Attention Lens watching.

The task: a sentence of 12 words; its class is the colour of the first colour word in it
(red, green or blue), the other words are filler. The model has to attend to that word,
which its attention maps show within a few hundred steps.

    python3 python/examples/encoder_classifier.py --steps 2000       # writes .attention-lens/runs/<id>/
    (or launch it from VS Code: a run config {"kind": "python", "program": "python/examples/encoder_classifier.py"})
"""

import argparse
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import attention_lens as al  # noqa: E402

COLOURS = ["red", "green", "blue"]
FILLER = ["the", "a", "cat", "dog", "sat", "on", "mat", "ran", "big", "small", "old", "new", "and", "then", "saw", "it"]
VOCAB = ["<pad>"] + COLOURS + FILLER
LENGTH = 12


def make_batch(gen, n):
    """(n, LENGTH) token ids and (n,) labels: the colour of the first colour word."""
    x = torch.randint(1 + len(COLOURS), len(VOCAB), (n, LENGTH), generator=gen)
    where = torch.randint(0, LENGTH, (n,), generator=gen)
    colour = torch.randint(0, len(COLOURS), (n,), generator=gen)
    x[torch.arange(n), where] = 1 + colour
    # A later, different colour word in half of the sentences (the first one decides).
    later = torch.randint(0, len(COLOURS), (n,), generator=gen)
    pos = torch.minimum(where + 1 + torch.randint(0, LENGTH, (n,), generator=gen), torch.full((n,), LENGTH - 1))
    mask = (torch.rand(n, generator=gen) < 0.5) & (pos > where)
    x[torch.arange(n)[mask], pos[mask]] = 1 + later[mask]
    return x, colour


class Classifier(nn.Module):
    def __init__(self, d_model=32, heads=4, layers=2, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), d_model)
        self.pos = nn.Parameter(torch.randn(LENGTH, d_model) * 0.1)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(d_model, len(COLOURS))

    def forward(self, x):  # x: (B, T) token ids
        h = self.embed(x) + self.pos[: x.shape[1]]  # (B, T, D)
        h = self.encoder(h)  # (B, T, D)
        return self.head(h.mean(dim=1))  # (B, classes)


def probes(gen, n=4):
    x, y = make_batch(gen, n)
    return [{"tokens": [VOCAB[i] for i in x[p].tolist()], "input": x[p : p + 1], "label": int(y[p])} for p in range(n)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--capture-every", type=int, default=10)
    ap.add_argument("--name", default="encoder-classifier")
    ap.add_argument("--mode", default=None, help="auto (default), folder or disabled")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    al.declare("lr", "series", label="learning rate", scale="log")
    al.declare("updates", "series", label="optimizer updates")
    run = al.init(
        args.name,
        model=model,
        config=vars(args),
        groups=["embed", "pos", "encoder.layers.0", "encoder.layers.1", "head"],
        probes=probes(torch.Generator().manual_seed(1000)),
        capture_every=args.capture_every,
        total_steps=args.steps,
        classes=COLOURS,
        mode=args.mode,
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    for i in range(args.steps):
        x, y = make_batch(gen, args.batch)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        al.log_series("lr", sched.get_last_lr()[0])
        al.log_series("updates", i + 1)
        al.step(loss, model, accuracy=(logits.argmax(1) == y).float().mean())
    al.finish()
    return run


if __name__ == "__main__":
    main()
