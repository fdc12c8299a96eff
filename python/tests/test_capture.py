"""Attention capture: per-head weights equal softmax(QKᵀ/√d) from the weights, for
nn.MultiheadAttention wherever it sits (an encoder layer on its eval fast path, batch-first or
not, pre-norm, padded, a decoder layer's self- and cross-attention, a module of one's own),
and a capture leaves training exactly as it was (modes, RNG, gradients, losses)."""

import math
import os
import sys
import unittest

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attention_lens.capture import Capturer, attention_modules, preserved_state  # noqa: E402
from attention_lens.run import Probes  # noqa: E402


def manual(mha, q_in, k_in, key_padding_mask=None):
    """(H, L, S) softmax(Q Kᵀ / √d) of one unbatched (L, E) query and (S, E) key, in float64."""
    d = mha.embed_dim
    h = mha.num_heads
    dh = d // h
    w = mha.in_proj_weight.double()
    b = mha.in_proj_bias.double()
    q = q_in.double() @ w[:d].T + b[:d]
    k = k_in.double() @ w[d : 2 * d].T + b[d : 2 * d]
    out = []
    for i in range(h):
        s = slice(i * dh, (i + 1) * dh)
        scores = q[:, s] @ k[:, s].T / math.sqrt(dh)
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[None, :], float("-inf"))
        out.append(torch.softmax(scores, dim=-1))
    return torch.stack(out)


class Inputs:
    """Records the query and key each attention module is called with."""

    def __init__(self, model):
        self.seen = {}
        self.handles = [m.register_forward_pre_hook(self._hook(n)) for n, m in attention_modules(model)]

    def _hook(self, name):
        def hook(mod, args):
            self.seen[name] = (args[0].detach().clone(), args[1].detach().clone())

        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def capture(model, probe_input, tokens):
    c = Capturer(Probes([{"tokens": tokens, "input": probe_input}]))
    c.watch(model)
    return c, c.run()[0]


class TestCapture(unittest.TestCase):
    def check(self, model, x, batch_first=True, mask=None, tol=1e-5):
        torch.manual_seed(0)
        tokens = [str(i) for i in range(x.shape[1] if batch_first else x.shape[0])]
        rec = Inputs(model)
        try:
            c, maps = capture(model, x, tokens)
        finally:
            rec.close()
        names = c.layer_names
        self.assertEqual(sorted(rec.seen), sorted(names), "the probe pass went through every attention module")
        compared = 0
        for layer, name in enumerate(names):
            q, k = rec.seen[name]
            if q.dim() == 3:
                q, k = (q[0], k[0]) if batch_first or getattr(dict(attention_modules(model))[name], "batch_first", False) else (q[:, 0], k[:, 0])
            mod = dict(attention_modules(model))[name]
            want = manual(mod, q, k, mask)
            got = [t for l, h, t in maps if l == layer]
            self.assertEqual(len(got), mod.num_heads)
            for h in range(mod.num_heads):
                self.assertLess((got[h].double() - want[h]).abs().max().item(), tol, f"layer {layer} head {h}")
                compared += 1
        return compared

    def test_encoder_on_its_eval_fast_path(self):
        torch.manual_seed(1)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)
        model = nn.TransformerEncoder(layer, 2)
        model.eval()
        x = torch.randn(1, 6, 16)
        with torch.no_grad():
            fast = model(x)
        self.assertEqual(self.check(model, x), 8)
        model.eval()
        with torch.no_grad():
            self.assertTrue(torch.allclose(model(x), fast, atol=1e-6), "the encoder computes the same after a capture")

    def test_encoder_layer_seq_first_pre_norm_gelu(self):
        torch.manual_seed(2)
        layer = nn.TransformerEncoderLayer(12, 3, 24, dropout=0.2, norm_first=True, activation="gelu")
        x = torch.randn(5, 1, 12)  # (T, N, E)
        self.assertEqual(self.check(layer, x, batch_first=False), 3)

    def test_padding_mask_through_the_nested_tensor_path(self):
        torch.manual_seed(3)
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 1)

        class Padded(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = enc

            def forward(self, x):
                return self.enc(x, src_key_padding_mask=torch.tensor([[False, False, False, True]]))

        m = Padded()
        self.assertEqual(self.check(m, torch.randn(1, 4, 8), mask=torch.tensor([False, False, False, True])), 2)

    def test_decoder_layer_self_and_cross_attention(self):
        torch.manual_seed(4)
        dec = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
        memory = torch.randn(1, 7, 8)

        class Dec(nn.Module):
            def __init__(self):
                super().__init__()
                self.dec = dec

            def forward(self, x):
                return self.dec(x, memory)

        m = Dec()
        c, maps = capture(m, torch.randn(1, 3, 8), ["a", "b", "c"])
        self.assertEqual(c.layer_names, ["dec.self_attn", "dec.multihead_attn"])
        self.assertEqual([tuple(t.shape) for l, h, t in maps], [(3, 3), (3, 3), (3, 7), (3, 7)])
        self.assertEqual(self.check(m, torch.randn(1, 3, 8)), 4)

    def test_a_module_of_ones_own_that_wants_averaged_weights_still_gets_them(self):
        torch.manual_seed(5)

        class Mine(nn.Module):
            def __init__(self):
                super().__init__()
                self.attn = nn.MultiheadAttention(8, 4, batch_first=True)
                self.returned = None

            def forward(self, x):
                out, w = self.attn(x, x, x)  # need_weights=True, averaged: as the caller asked
                self.returned = w
                return out

        m = Mine()
        self.assertEqual(self.check(m, torch.randn(1, 5, 8)), 4)
        self.assertEqual(tuple(m.returned.shape), (1, 5, 5), "the caller still got the head average")
        self.assertNotIn("forward", m.attn.__dict__, "the patch is gone")

    def test_probe_batch_is_cut_to_each_probes_tokens(self):
        torch.manual_seed(6)
        m = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 1)
        c = Capturer(Probes({"tokens": [["a", "b", "c", "d"], ["x", "y"]], "input": torch.randn(2, 4, 8)}))
        c.watch(m)
        maps = c.run()
        self.assertEqual([tuple(t.shape) for _, _, t in maps[0]], [(4, 4), (4, 4)])
        self.assertEqual([tuple(t.shape) for _, _, t in maps[1]], [(2, 2), (2, 2)])

    def test_probes_of_one_shape_go_in_one_pass_with_the_same_maps(self):
        torch.manual_seed(8)
        m = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
        xs = [torch.randn(1, 5, 8) for _ in range(3)]
        calls = []
        m.layers[0].self_attn.register_forward_pre_hook(lambda mod, args: calls.append(args[0].shape[0]))
        c = Capturer(Probes([{"tokens": list("abcde"), "input": x} for x in xs]))
        c.watch(m)
        together = c.run()
        self.assertEqual(calls, [3], "one pass for the three probes")
        for p, x in enumerate(xs):
            _, alone = capture(m, x, list("abcde"))
            self.assertEqual(len(together[p]), len(alone))
            for (l1, h1, a), (l2, h2, b) in zip(together[p], alone):
                self.assertEqual((l1, h1), (l2, h2))
                self.assertLess((a - b).abs().max().item(), 1e-6)

    def test_capture_restores_modes_rng_and_gradients(self):
        torch.manual_seed(7)
        m = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True), 1)
        m.train()
        m.layers[0].dropout.eval()  # a module the user froze in eval: it stays so
        x = torch.randn(3, 4, 8)
        m(x).sum().backward()
        grads = [p.grad.clone() for p in m.parameters()]
        state = torch.get_rng_state()
        capture(m, x[:1], list("abcd"))
        self.assertTrue(torch.equal(torch.get_rng_state(), state))
        self.assertTrue(m.training and m.layers[0].training and m.layers[0].self_attn.training)
        self.assertFalse(m.layers[0].dropout.training)
        for p, g in zip(m.parameters(), grads):
            self.assertTrue(torch.equal(p.grad, g))

    def test_losses_are_bit_identical_even_when_eval_draws_random_numbers(self):
        class Noisy(nn.Module):
            """Draws random numbers in every forward, in eval too: only a restored RNG keeps training the same."""

            def __init__(self):
                super().__init__()
                self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3, batch_first=True), 1)
                self.head = nn.Linear(8, 2)

            def forward(self, x):
                return self.head(self.enc(x + 0.01 * torch.randn_like(x)).mean(1))

        def train(with_capture):
            torch.manual_seed(11)
            m = Noisy()
            opt = torch.optim.SGD(m.parameters(), lr=0.1)
            c = Capturer(Probes([{"tokens": list("abcd"), "input": torch.ones(1, 4, 8)}]))
            c.watch(m)
            losses = []
            for _ in range(20):
                x = torch.randn(4, 4, 8)
                y = torch.randint(0, 2, (4,))
                loss = nn.functional.cross_entropy(m(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if with_capture:
                    c.run()
                losses.append(loss.item())
            return losses

        self.assertEqual(train(True), train(False))


class TestPreservedState(unittest.TestCase):
    def test_an_exception_in_the_pass_restores_everything(self):
        m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
        m.train()
        state = torch.get_rng_state()
        with self.assertRaises(RuntimeError):
            with preserved_state(m):
                torch.randn(3)
                raise RuntimeError("boom")
        self.assertTrue(m.training and m[1].training)
        self.assertTrue(torch.equal(torch.get_rng_state(), state))
        self.assertTrue(torch.is_grad_enabled())


if __name__ == "__main__":
    unittest.main()
