"""Gradient and weight norms per parameter group, computed on the device with one transfer.

A group is a set of parameters (by module prefix, or the groups a user names); its norm is the
L2 norm of all its parameters' gradients taken together, sqrt(sum over its parameters of
||grad||^2). Per-parameter norms come from one torch._foreach_norm call per (device, dtype)
where torch has it (a fused kernel; PyTorch 1.13 and 2.x do), else torch.linalg.vector_norm
per parameter. A NaN or infinite gradient makes its own group's norm NaN or inf and leaves the
other groups' norms untouched. Under DDP the gradients after backward() are already
all-reduced (averaged over ranks), so these norms are the global ones.
"""

import math

import torch

OTHER = "other"


def unwrap(model):
    """The module a DistributedDataParallel / DataParallel wrapper holds (the model itself otherwise)."""
    inner = getattr(model, "module", None)
    if isinstance(inner, torch.nn.Module) and type(model).__name__ in ("DistributedDataParallel", "DataParallel"):
        return inner
    return model


def _matches(name, prefix):
    return prefix == "" or name == prefix or name.startswith(prefix + ".")


def default_groups(model):
    """One group per top-level child that holds parameters (named like the child), in order."""
    names = []
    for name, _ in unwrap(model).named_parameters():
        top = name.split(".", 1)[0]
        if top not in names:
            names.append(top)
    return names


class GroupNorms:
    """Assigns a model's parameters to named groups and computes each group's norms."""

    def __init__(self, names, assign):
        #: Group names, in the order of every step's gradNorms / weightNorms.
        self.names = list(names)
        self._assign = assign  # parameter name -> group index (or None: not counted)
        self._model = None
        self._params = []
        self._index = []
        self._index_t = {}

    @classmethod
    def from_spec(cls, spec, model=None):
        """Groups from `spec`: None (the model's top-level children), a list of module prefixes,
        or a dict {group name: prefix or list of prefixes}. A parameter goes to the group of its
        longest matching prefix; parameters that match none go to a group "other" (added when a
        model shows there are such parameters, or always when there is no model to look at)."""
        if spec is None:
            if model is None:
                return cls([], lambda name: None)
            names = default_groups(model)
            return cls(names, lambda name, _n=names: _n.index(name.split(".", 1)[0]))
        if isinstance(spec, dict):
            pairs = []
            for g, ps in spec.items():
                for p in [ps] if isinstance(ps, str) else list(ps):
                    pairs.append((str(p), str(g)))
            names = [str(g) for g in spec]
        else:
            pairs = [(str(p), str(p)) for p in spec]
            names = [str(p) for p in spec]
        if len(set(names)) != len(names):
            raise ValueError(f"attention_lens: group names repeat: {names}")
        pairs.sort(key=lambda pg: -len(pg[0]))

        def group_of(name):
            for p, g in pairs:
                if _matches(name, p):
                    return names.index(g)
            return None

        unmatched = model is None or any(group_of(n) is None for n, _ in unwrap(model).named_parameters())
        if unmatched and OTHER not in names:
            names.append(OTHER)
        other = names.index(OTHER) if OTHER in names else None
        return cls(names, lambda name: (lambda i: other if i is None else i)(group_of(name)))

    def bind(self, model):
        """Uses `model`'s parameters from now on (called again when a step passes another model)."""
        m = unwrap(model)
        if m is self._model:
            return
        self._model = m
        self._params = []
        self._index = []
        for name, p in m.named_parameters():
            i = self._assign(name)
            if i is not None:
                self._params.append(p)
                self._index.append(i)
        self._index_t = {}
        kinds = {(p.device, p.dtype) for p in self._params}
        # One device and dtype (the usual case): one foreach call over grads and weights, one index.
        self._uniform = len(kinds) == 1 and not any(p.is_sparse for p in self._params)
        self._both_index = None
        if self._uniform and self._params:
            g = len(self.names)
            self._both_index = torch.tensor(self._index + [i + g for i in self._index], dtype=torch.long, device=self._params[0].device)

    def _sum_squares(self, tensors, index, device, size):
        """(size,) float64 on `device`: at i, the sum of the squared norms of the tensors with index i."""
        out = None
        buckets = {}
        for t, i in zip(tensors, index):
            if t is None:
                continue
            if t.is_sparse:
                t = t.coalesce()._values()
            b = buckets.setdefault((t.device, t.dtype), ([], []))
            b[0].append(t)
            b[1].append(i)
        for (dev, _), (ts, ix) in buckets.items():
            if hasattr(torch, "_foreach_norm"):
                norms = torch._foreach_norm(ts)  # one fused kernel for the whole bucket
            else:  # pragma: no cover - every supported torch has it
                norms = [torch.linalg.vector_norm(t) for t in ts]
            sq = torch.stack(norms).to(torch.float64).square()
            key = (dev, tuple(ix))
            it = self._index_t.get(key)
            if it is None:
                it = self._index_t[key] = torch.tensor(ix, dtype=torch.long, device=dev)
            part = torch.zeros(size, dtype=torch.float64, device=dev).index_add_(0, it, sq)
            out = part.to(device) if out is None else out + part.to(device)
        return out if out is not None else torch.zeros(size, dtype=torch.float64, device=device)

    def compute(self, device):
        """(2G,) float64 on `device`: the G gradient norms, then the G weight norms. A group
        without any gradient has norm 0 (its parameters are frozen or unused this step)."""
        g = len(self.names)
        if not g:
            return torch.zeros(0, dtype=torch.float64, device=device)
        with torch.no_grad():
            grads = [p.grad for p in self._params]
            if self._uniform and self._both_index is not None and all(x is not None and not x.is_sparse and x.dtype == self._params[0].dtype for x in grads):
                norms = torch._foreach_norm(grads + self._params) if hasattr(torch, "_foreach_norm") else [torch.linalg.vector_norm(t) for t in grads + self._params]
                sq = torch.stack(norms).to(torch.float64).square()
                out = torch.zeros(2 * g, dtype=torch.float64, device=sq.device).index_add_(0, self._both_index, sq)
                return out.sqrt().to(device)
            tensors = grads + list(self._params)
            index = self._index + [i + g for i in self._index]
            return self._sum_squares(tensors, index, device, 2 * g).sqrt()


def first_device(model):
    for p in unwrap(model).parameters():
        return p.device
    return torch.device("cpu")


def non_finite_reason(step, loss, grad_norms, names=None):
    """Why a step's numbers mean the run cannot usefully go on (the built-in trainer's rule), or None."""
    if not math.isfinite(loss):
        return f"step {step}: loss is {_js(loss)}"
    for i, g in enumerate(grad_norms):
        if not math.isfinite(g):
            return f"step {step}: gradient norm {i} is {_js(g)}" + (f" ({names[i]})" if names and i < len(names) else "")
    return None


def _js(x):
    return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")
