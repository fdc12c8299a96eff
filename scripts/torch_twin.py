"""PyTorch twin of the Attn-FC model (PAPERS.md section 1) for `npm run bench`.

Same shapes and the same work per epoch as our trainer's paper-size Attn-FC run: 3,999
sentences of 21 words over a 5,008-word vocabulary, dEmb = dKey = 10, 4 classes, one
full-batch SGD step per epoch. Written from the paper's description; prints one JSON line.
"""
import json
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
torch.set_num_threads(threads)

V, D, K, C, N, T = 5008, 10, 10, 4, 3999, 21
g = torch.Generator().manual_seed(0)
tokens = torch.randint(0, V, (N, T), generator=g)        # (N, T)
labels = torch.randint(0, C, (N,), generator=g)          # (N)
emb = torch.nn.Embedding(V, D)                            # (V, D)
keys = torch.nn.Embedding(V, K)                           # (V, K)
with torch.no_grad():
    emb.weight.normal_(0, 1e-6, generator=g)
    keys.weight.zero_()
query = torch.randn(1, K, generator=g) * 0.3             # (1, K), frozen
W = torch.randn(D, C, generator=g)                        # (D, C), frozen
W.fill_diagonal_(1)
opt = torch.optim.SGD(list(emb.parameters()) + list(keys.parameters()), lr=0.1)


def epoch():
    opt.zero_grad()
    e = emb(tokens)                                       # (N, T, D)
    k = keys(tokens)                                      # (N, T, K)
    s = torch.matmul(query, k.transpose(1, 2))            # (N, 1, T)
    a = torch.softmax(s, dim=2)                           # (N, 1, T)
    v = torch.matmul(a, e).squeeze(1)                     # (N, D)
    loss = torch.nn.functional.cross_entropy(v.mm(W), labels)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(20):
    epoch()
blocks = []
per_block = max(1, epochs // 5)
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(per_block):
        epoch()
    blocks.append((time.perf_counter() - t0) * 1000 / per_block)
blocks.sort()
print(json.dumps({"torch": torch.__version__, "threads": threads, "msPerEpoch": blocks[len(blocks) // 2], "blocks": blocks}))
