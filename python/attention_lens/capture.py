"""Attention capture: each nn.MultiheadAttention's per-head weights on the probe inputs.

The probe pass is the helper's own forward pass, run every captureEvery steps in eval mode
under no_grad; its outputs are thrown away. For its duration only:

* every watched nn.MultiheadAttention is called with need_weights=True and
  average_attn_weights=False whatever its caller asked (nn.TransformerEncoderLayer and
  nn.TransformerDecoderLayer ask need_weights=False), and its per-head weights (N, H, L, S) are
  kept; the caller gets back what it asked for (None, or the head average);
* nn.TransformerEncoderLayer's eval fast path (torch._transformer_encoder_layer_fwd, which
  never calls self_attn) and nn.TransformerEncoder's nested-tensor path are turned off the way
  their own code checks for it: the layer object's `training` flag is set while every module
  inside it (attention, dropout, norms, linears) stays in eval mode, so dropout is off and the
  layer computes exactly its documented slow path (norm, _sa_block, _ff_block). On PyTorch
  1.13 and 2.x both fast paths test `self.training` / `self.layers[0].training` first.

Afterwards every module's training flag is put back as it was, one by one, and the RNG states
(CPU and every initialised CUDA device) are restored, so the training that follows is
bit-identical to a run without captures.
"""

import contextlib

import torch
from torch import nn

from .norms import unwrap

def attention_modules(model):
    """(name, module) of every nn.MultiheadAttention in `model`, in module order."""
    return [(n, m) for n, m in unwrap(model).named_modules() if isinstance(m, nn.MultiheadAttention)]


@contextlib.contextmanager
def preserved_state(model):
    """Eval mode, no_grad and saved RNG states for a side pass; everything restored after."""
    m = unwrap(model)
    modes = [(mod, mod.training) for mod in m.modules()]
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    try:
        m.eval()
        with torch.no_grad():
            yield m
    finally:
        for mod, was in modes:
            mod.training = was
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


class _Recorder:
    """Patches watched attention modules for one probe pass and collects their weights."""

    def __init__(self, modules):
        self.modules = modules  # [(layer index, module)]
        self.weights = {}  # layer index -> [tensor (N, H, L, S) or (H, L, S)] per call
        self._patched = []

    def _wrap(self, layer, mod):
        original = mod.forward

        def forward(*args, **kwargs):
            want = kwargs.get("need_weights", True)
            average = kwargs.get("average_attn_weights", True)
            if len(args) > 4:  # need_weights passed positionally (query, key, value, key_padding_mask, need_weights, ...)
                want = args[4]
                args = args[:4] + (True,) + args[5:]
            else:
                kwargs["need_weights"] = True
            if len(args) > 6:
                average = args[6]
                args = args[:6] + (False,) + args[7:]
            else:
                kwargs["average_attn_weights"] = False
            out, w = original(*args, **kwargs)
            self.weights.setdefault(layer, []).append(w)
            if not want:
                return out, None
            if average and w is not None:
                return out, w.mean(dim=-3)
            return out, w

        return forward

    def __enter__(self):
        for layer, mod in self.modules:
            had = "forward" in mod.__dict__
            self._patched.append((mod, had, mod.__dict__.get("forward")))
            mod.forward = self._wrap(layer, mod)
        return self

    def __exit__(self, *exc):
        for mod, had, old in reversed(self._patched):
            if had:
                mod.forward = old
            else:
                del mod.forward
        self._patched = []
        return False


def _call(model, inputs):
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def _as_heads(w):
    """An attention tensor as (N, H, L, S)."""
    if w.dim() == 2:
        return w.unsqueeze(0).unsqueeze(0)
    if w.dim() == 3:
        return w.unsqueeze(0)
    if w.dim() == 4:
        return w
    raise ValueError(f"attention weights of shape {tuple(w.shape)}: expected (L, S), (H, L, S) or (N, H, L, S)")


def _crop(maps, n_tokens):
    """Self-attention maps of a padded batch cut to a probe's own tokens (rows and columns)."""
    l, s = maps.shape[-2], maps.shape[-1]
    if n_tokens and l == s and n_tokens < l:
        return maps[..., :n_tokens, :n_tokens]
    return maps


class Capturer:
    """Runs the probe pass and returns each probe's maps as (layer, head, tensor (L, S)) lists.

    probes: [{"tokens": [...], "input": ...}] (one forward per probe, batch of 1), or one batch
    {"tokens": [[...], ...], "input": batch} (one forward, the weights' batch index is the probe).
    `capture(model, input)`, when given, replaces the hooks: it returns the attention of that
    input as a sequence of tensors (one per layer) or a {name: tensor} dict, e.g. a Hugging Face
    model's `outputs.attentions` with output_attentions=True.
    """

    def __init__(self, probes, capture=None):
        self.probes = probes
        self.capture_fn = capture
        self.model = None
        self.modules = []  # [(name, module)]
        self.layer_names = []  # names of the layers, by layer index (explicit captures add theirs)

    def watch(self, model):
        self.model = model
        self.modules = attention_modules(model)
        for name, _ in self.modules:
            if name not in self.layer_names:
                self.layer_names.append(name)
        return [n for n, _ in self.modules]

    def layer_index(self, name):
        if name not in self.layer_names:
            self.layer_names.append(name)
        return self.layer_names.index(name)

    @property
    def can_capture(self):
        return self.model is not None and self.probes.has_inputs and (self.capture_fn is not None or bool(self.modules))

    def _pass(self, model, inputs):
        """{layer: (N, H, L, S) tensor} for one forward of `inputs`."""
        if self.capture_fn is not None:
            got = self.capture_fn(model, inputs)
            if isinstance(got, dict):
                return {self.layer_index(str(k)): _as_heads(v) for k, v in got.items() if v is not None}
            return {i: _as_heads(v) for i, v in enumerate(got) if v is not None}
        index = {id(m): self.layer_names.index(n) for n, m in self.modules}
        with _Recorder([(index[id(m)], m) for _, m in self.modules]) as rec:
            _call(model, inputs)
        out = {}
        for layer, ws in rec.weights.items():
            ws = [w for w in ws if w is not None]
            if ws:
                out[layer] = _as_heads(ws[-1])  # a module called twice (weight sharing): its last call
        return out

    def _batched_pass(self, model):
        """All probes in one forward pass, when that is the same as one pass per probe: every
        probe's input a tensor of the same shape with exactly one dimension of size 1 (the
        batch), and every captured layer's weights then holding one row per probe. Else None."""
        ins = self.probes.inputs
        if len(ins) < 2 or not all(isinstance(x, torch.Tensor) for x in ins):
            return None
        shape = tuple(ins[0].shape)
        ones = [d for d, n in enumerate(shape) if n == 1]
        if len(ones) != 1 or any(tuple(x.shape) != shape for x in ins):
            return None
        got = self._pass(model, torch.cat(ins, dim=ones[0]))
        if not got or any(w.shape[0] != len(ins) for w in got.values()):
            return None
        return got

    def run(self):
        """Every probe's maps: list over probes of [(layer, head, (L, S) float32 CPU tensor)]."""
        with preserved_state(self.model) as model:
            for mod in model.modules():
                if isinstance(mod, nn.TransformerEncoderLayer):
                    mod.training = True  # this object only: its fast-path checks; its modules stay in eval
            maps = [[] for _ in range(len(self.probes))]
            pieces = []  # (probe, layer, (H, L, S) tensor on any device)
            if self.probes.batch is not None:
                for layer, w in sorted(self._pass(model, self.probes.batch).items()):
                    for p in range(min(w.shape[0], len(self.probes))):
                        pieces.append((p, layer, _crop(w[p], len(self.probes.tokens[p]))))
            else:
                batched = self._batched_pass(model)
                if batched is not None:
                    for layer, w in sorted(batched.items()):
                        for p in range(len(self.probes)):
                            pieces.append((p, layer, w[p]))
                else:
                    for p, inp in enumerate(self.probes.inputs):
                        if inp is None:
                            continue
                        for layer, w in sorted(self._pass(model, inp).items()):
                            pieces.append((p, layer, w[0]))
            if not pieces:
                return maps
            # One transfer for the whole frame.
            dev = pieces[0][2].device
            flat = torch.cat([t.detach().reshape(-1).to(device=dev, dtype=torch.float32) for _, _, t in pieces]).cpu()
            off = 0
            for p, layer, t in pieces:
                h, l, s = t.shape
                block = flat[off : off + h * l * s].view(h, l, s)
                off += h * l * s
                for head in range(h):
                    maps[p].append((layer, head, block[head]))
            return maps


def explicit_maps(tensor):
    """(H, L, S) float32 CPU tensor of an attention given to log_attention: (L, S), (H, L, S) or (1, H, L, S)."""
    t = tensor.detach()
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"log_attention: a batch of {t.shape[0]}: pass one probe's attention, (H, L, S)")
        t = t[0]
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3:
        raise ValueError(f"log_attention: attention of shape {tuple(tensor.shape)}: expected (L, S), (H, L, S) or (1, H, L, S)")
    return t.to(device="cpu", dtype=torch.float32)
