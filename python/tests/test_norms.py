"""Per-group gradient and weight norms: equal to the norms of the concatenated parameters,
a NaN or infinite gradient confined to its own group, groups by prefix or by name."""

import math
import os
import sys
import unittest

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attention_lens.norms import GroupNorms, non_finite_reason  # noqa: E402


def model():
    torch.manual_seed(0)
    m = nn.Sequential()
    m.add_module("embed", nn.Embedding(10, 4))
    m.add_module("body", nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4)))
    m.add_module("head", nn.Linear(4, 2))
    out = m[2](m[1](m[0](torch.tensor([1, 2, 3])))).sum()
    out.backward()
    return m


def cat_norm(ps, grad=True):
    return torch.cat([(p.grad if grad else p).reshape(-1).double() for p in ps]).norm().item()


class TestNorms(unittest.TestCase):
    def test_default_groups_are_the_top_level_children(self):
        m = model()
        g = GroupNorms.from_spec(None, m)
        g.bind(m)
        self.assertEqual(g.names, ["embed", "body", "head"])
        v = g.compute(torch.device("cpu")).tolist()
        for i, name in enumerate(g.names):
            ps = list(getattr(m, name).parameters())
            self.assertAlmostEqual(v[i], cat_norm(ps), places=5)
            self.assertAlmostEqual(v[3 + i], cat_norm(ps, grad=False), places=5)

    def test_prefixes_longest_first_and_the_rest_in_other(self):
        m = model()
        g = GroupNorms.from_spec(["body", "body.1"], m)
        g.bind(m)
        self.assertEqual(g.names, ["body", "body.1", "other"])
        v = g.compute(torch.device("cpu")).tolist()
        self.assertAlmostEqual(v[0], cat_norm(m.body[0].parameters()), places=5)
        self.assertAlmostEqual(v[1], cat_norm(m.body[1].parameters()), places=5)
        self.assertAlmostEqual(v[2], cat_norm(list(m.embed.parameters()) + list(m.head.parameters())), places=5)

    def test_named_groups_and_no_other_when_all_are_covered(self):
        m = model()
        g = GroupNorms.from_spec({"input": "embed", "rest": ["body", "head"]}, m)
        self.assertEqual(g.names, ["input", "rest"])

    def test_a_nan_gradient_stays_in_its_group(self):
        m = model()
        m.head.weight.grad[0, 0] = math.nan
        m.body[0].bias.grad[0] = math.inf
        g = GroupNorms.from_spec(None, m)
        g.bind(m)
        v = g.compute(torch.device("cpu")).tolist()
        self.assertTrue(math.isfinite(v[0]))
        self.assertEqual(v[1], math.inf)
        self.assertTrue(math.isnan(v[2]))
        self.assertEqual(non_finite_reason(4, 0.5, v[:3], g.names), "step 4: gradient norm 1 is Infinity (body)")
        self.assertEqual(non_finite_reason(4, math.nan, v[:3]), "step 4: loss is NaN")

    def test_a_group_without_gradients_is_zero(self):
        m = model()
        m.head.weight.grad = None
        m.head.bias.grad = None
        g = GroupNorms.from_spec(None, m)
        g.bind(m)
        self.assertEqual(g.compute(torch.device("cpu")).tolist()[2], 0.0)


if __name__ == "__main__":
    unittest.main()
