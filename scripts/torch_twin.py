"""PyTorch twins of the trainer's models (PAPERS.md sections 1 and 2), for `npm run bench`.

Each twin is written from the model's definition, not from our kernels: the same shapes, the
same data, the same initial weights and the same optimiser step (forward, backward, update),
one thread. The bench (scripts/bench.ts) starts this script once with `--serve` and speaks
JSON lines over stdin / stdout:

  {"cmd": "load", "spec": "<path>.json"}    build every formulation of one model; answers
                                             {"variants": [...], "loss": {variant: first loss}}
  {"cmd": "time", "variant": v, "steps": n}  n optimisation steps; answers {"ms": ms per step}
  {"cmd": "quit"}

The spec names a binary file holding the batch (tokens (B, T), lengths (B), labels (B)) and
every parameter under `param:<name>` in our layout (row-major, x·W convention), so the twin
starts from exactly our weights and its first loss can be checked against ours.

Formulations tried (the bench times each and races the fastest against our trainer):
  Lu models (section 1):
    token-scores   s = keys[tokens]·q per token, v = Σ a_i emb[tokens_i]    (the definition)
    vocab-scores   s = (keys·q)[tokens], scored once per vocabulary word, v as above
    projected      the first (linear) classifier layer moved before the sum: p = emb·A per
                   word, h = Σ a_i p[tokens_i]. Not the definition's work (the context v is
                   never formed) but the same function; reported for information
  Encoder (section 2):
    functional     torch.nn.functional on (B·T, D) rows: F.linear / addmm, matmul per head,
                   masked softmax, einsum mixes for talking heads
    jit            the same forward under torch.jit.trace
Padding masks are applied only when some sentence is shorter than T (otherwise they are
skipped: all-equal lengths need none). Embedding tables are indexed directly (F.embedding),
never through one-hot products.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def load_arrays(spec):
    with open(spec["bin"], "rb") as f:
        raw = bytearray(f.read())
    out = {}
    for name, a in spec["arrays"].items():
        dt = torch.float32 if a["dtype"] == "f32" else torch.int32
        n = 1
        for s in a["shape"]:
            n *= s
        t = torch.frombuffer(raw, dtype=dt, count=n, offset=a["offset"]) if n > 0 else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(a["shape"]).clone()
    return out


def make_optimizer(cfg, params):
    if cfg["kind"] == "sgd":
        return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weightDecay"], foreach=True)
    return torch.optim.Adam(params, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"], weight_decay=cfg["weightDecay"], foreach=True)


class Twin:
    """One formulation of one model with its own copy of the weights and its optimiser."""

    def __init__(self, spec, arrays, variant):
        self.variant = variant
        self.p = {}
        for name, trainable in spec["params"]:
            self.p[name] = arrays["param:" + name].clone().requires_grad_(bool(trainable))
        self.trainable = [self.p[n] for n, tr in spec["params"] if tr]
        self.tokens = arrays["tokens"].long()  # (B, T)
        self.lengths = arrays["lengths"].long()  # (B)
        self.labels = arrays["labels"].long()  # (B)
        B, T = self.tokens.shape
        self.B, self.T = B, T
        self.full = bool((self.lengths == T).all())
        self.mask = torch.arange(T)[None, :] < self.lengths[:, None]  # (B, T) real positions
        self.neg = torch.zeros(B, T).masked_fill_(~self.mask, float("-inf"))  # (B, T) additive key mask
        self.opt = make_optimizer(spec["optimizer"], self.trainable)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss()
        loss.backward()
        self.opt.step()
        return loss

    def first_loss(self):
        with torch.no_grad():
            return float(self.loss())


class LuTwin(Twin):
    """Lu, Mao & Nayak: s = qᵀk_u, a = softmax over the sentence, v = Σ a_i w_i, FC | TC | TL."""

    def __init__(self, spec, arrays, variant):
        super().__init__(spec, arrays, variant)
        self.cls = spec["model"]["classifier"]
        p = self.p
        self.emb, self.keys, self.q = p["embeddings"], p["keys"], p["query"]  # (V, D), (V, K), (K)

    def scores(self):
        if self.variant == "token-scores":
            s = F.embedding(self.tokens, self.keys) @ self.q  # (B, T)
        else:
            s = (self.keys @ self.q)[self.tokens]  # (V) → (B, T)
        return s if self.full else s + self.neg

    def loss(self):
        a = torch.softmax(self.scores(), dim=1)  # (B, T)
        p = self.p
        if self.variant == "projected":
            A = p["classifier.W1"] if self.cls == "TL" else p["classifier.W"]  # (D, C')
            h = (a.unsqueeze(2) * F.embedding(self.tokens, self.emb @ A)).sum(1)  # (B, C')
            if self.cls == "TL":
                logits = F.relu(h + p["classifier.b1"]) @ p["classifier.W2"] + p["classifier.b2"]
            else:
                logits = h
        else:
            v = (a.unsqueeze(2) * F.embedding(self.tokens, self.emb)).sum(1)  # (B, D)
            if self.cls == "TL":
                logits = torch.addmm(p["classifier.b2"], F.relu(torch.addmm(p["classifier.b1"], v, p["classifier.W1"])), p["classifier.W2"])
            else:
                logits = v @ p["classifier.W"]  # (B, C)
        return F.cross_entropy(logits, self.labels)


class EncoderTwin(Twin):
    """Self-attention encoder: multi-head or talking-heads layers, optional MLP, mean pooling."""

    def __init__(self, spec, arrays, variant):
        super().__init__(spec, arrays, variant)
        m = spec["model"]
        att = m["attention"]
        self.talking = att["kind"] == "talking-heads"
        if self.talking:
            self.Hk, self.H, self.Hv, self.dk, self.dv = att["keyHeads"], att["heads"], att["valueHeads"], att["dKey"], att["dValue"]
        else:
            self.Hk = self.H = self.Hv = att["heads"]
            self.dk = self.dv = att["dHead"]
        self.layers = m["layers"]
        self.mlp = m["mlpHidden"] > 0
        self.positions = m["positions"]
        self.D = m["dModel"]
        names = ["embeddings"] + (["positions"] if self.positions else [])
        for i in range(self.layers):
            names += [f"layer{i}.{n}" for n in ["Wq", "Wk", "Wv", "Wo"]]
            if self.talking:
                names += [f"layer{i}.Pl", f"layer{i}.Pw"]
            if self.mlp:
                names += [f"layer{i}.{n}" for n in ["W1", "b1", "W2", "b2"]]
        names += ["classifier.W", "classifier.b"]
        self.names = names
        self.keymask = self.neg.view(self.B, 1, 1, self.T)  # (B, 1, 1, T)
        self.poolw = (self.mask.float() / self.lengths[:, None].float()).unsqueeze(2)  # (B, T, 1)
        self.pos_ids = torch.arange(self.T)
        if variant == "jit":
            args = [self.p[n] for n in names]
            self.traced = torch.jit.trace(self.forward, tuple(args), check_trace=False)

    def forward(self, *args):
        p = dict(zip(self.names, args))
        B, T, D = self.B, self.T, self.D
        Hk, H, Hv, dk, dv = self.Hk, self.H, self.Hv, self.dk, self.dv
        x = F.embedding(self.tokens.view(-1), p["embeddings"])  # (B·T, D)
        if self.positions:
            x = (x.view(B, T, D) + F.embedding(self.pos_ids, p["positions"])).view(B * T, D)
        scale = 1 / math.sqrt(dk)
        for i in range(self.layers):
            n = f"layer{i}."
            q = (x @ p[n + "Wq"]).view(B, T, Hk, dk).transpose(1, 2)  # (B, Hk, T, dk)
            k = (x @ p[n + "Wk"]).view(B, T, Hk, dk).transpose(1, 2)  # (B, Hk, T, dk)
            v = (x @ p[n + "Wv"]).view(B, T, Hv, dv).transpose(1, 2)  # (B, Hv, T, dv)
            J = (q @ k.transpose(2, 3)) * scale  # (B, Hk, T, T)
            L = torch.einsum("bimn,ih->bhmn", J, p[n + "Pl"]) if self.talking else J  # (B, H, T, T)
            if not self.full:
                L = L + self.keymask
            W = torch.softmax(L, dim=3)  # (B, H, T, T)
            U = torch.einsum("bhmn,hg->bgmn", W, p[n + "Pw"]) if self.talking else W  # (B, Hv, T, T)
            O = (U @ v).transpose(1, 2).reshape(B * T, Hv * dv)  # (B·T, Hv·dv)
            x = x + O @ p[n + "Wo"]  # (B·T, D)
            if self.mlp:
                x = x + torch.addmm(p[n + "b2"], F.relu(torch.addmm(p[n + "b1"], x, p[n + "W1"])), p[n + "W2"])
        x = x.view(B, T, D)
        pooled = x.mean(1) if self.full else (x * self.poolw).sum(1)  # (B, D)
        return torch.addmm(p["classifier.b"], pooled, p["classifier.W"])  # (B, C)

    def loss(self):
        args = [self.p[n] for n in self.names]
        logits = self.traced(*args) if self.variant == "jit" else self.forward(*args)
        return F.cross_entropy(logits, self.labels)


VARIANTS = {"lu": ["token-scores", "vocab-scores", "projected"], "encoder": ["functional", "jit"]}


def main():
    twins = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        if cmd["cmd"] == "load":
            with open(cmd["spec"]) as f:
                spec = json.load(f)
            arrays = load_arrays(spec)
            cls = LuTwin if spec["kind"] == "lu" else EncoderTwin
            twins = {v: cls(spec, arrays, v) for v in VARIANTS[spec["kind"]]}
            reply = {"torch": torch.__version__, "variants": list(twins), "loss": {v: t.first_loss() for v, t in twins.items()}}
        elif cmd["cmd"] == "time":
            t = twins[cmd["variant"]]
            t0 = time.perf_counter()
            for _ in range(cmd["steps"]):
                t.step()
            reply = {"ms": (time.perf_counter() - t0) * 1000 / cmd["steps"]}
        else:
            reply = {"error": f"unknown command {cmd['cmd']}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
