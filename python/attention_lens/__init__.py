"""Attention Lens for your own PyTorch model: its loss, gradient norms per parameter group,
attention maps and your own measurements, every step, in the Attention Lens dashboard; and
pause, single step and stop from VS Code, taking effect inside step().

    import attention_lens as al

    al.init("my-encoder", model=model, config={"lr": 3e-4}, probes=[{"tokens": toks, "input": x}])
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        al.step(loss, model)      # records the step; pauses here; raises al.Stopped on stop
    al.finish()

Launched from VS Code, the numbers go to the extension over a pipe; started anywhere else (a
terminal, a cluster job, a notebook) they go to a run folder (.attention-lens/runs/<id>/, the
same format as the command line's) that the extension follows, and pause / step / stop come
from a control file in that folder. Under torchrun rank 0 records and every rank pauses and
stops at the same step. Needs only the standard library and torch (1.13 or 2.x).
"""

from . import run as _run
from .capture import attention_modules
from .channel import PROTOCOL_VERSION
from .control import write_control
from .run import Run, Stopped, make_decl
from .runfolder import read_run

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION",
    "Run",
    "Stopped",
    "attention_modules",
    "declare",
    "finish",
    "init",
    "log_attention",
    "log_eval",
    "log_event",
    "log_groups",
    "log_matrix",
    "log_series",
    "current_run",
    "read_run",
    "step",
    "watch",
    "write_control",
]


def init(name, config=None, model=None, groups=None, probes=None, capture_every=10, total_steps=0, classes=None, steps_per_epoch=0, model_kind=None, measures=None, runs_dir=None, mode=None, on_stop="raise", capture=None):
    """Starts the run and returns it (attention_lens.current_run() returns it later).

    name           the run's name (the Runs view, the folder's id)
    config         your hyperparameters (JSON data): config.json, and the compare view's diff
    model          the model: its parameters make the gradient-norm groups, its attention is captured
    groups         None (one group per top-level submodule), a list of module prefixes
                   (["encoder.layers.0", "encoder.layers.1", "head"]), or {group: prefix(es)};
                   parameters under none go to a group "other"
    probes         inputs whose attention is captured every capture_every steps (see Probes)
    capture_every  steps between captures (and step 1); 0 for none
    total_steps, classes, steps_per_epoch   shown by the dashboard when given
    model_kind     "encoder" (token × token attention views; the default with probes) or "other"
    measures       measurement declarations (make_decl(...) dicts), as declare() makes them
    runs_dir       where a run not launched from VS Code writes its folder (default
                   $ATTENTION_LENS_RUNS_DIR, else .attention-lens/runs under the working directory)
    mode           "auto" (default), "folder", or "disabled" (record nothing; also
                   ATTENTION_LENS_MODE=disabled)
    on_stop        "raise" (step() raises Stopped) or "flag" (step() returns False)
    capture        capture(model, input) -> attention tensors per layer, instead of the hooks on
                   nn.MultiheadAttention (e.g. lambda m, x: m(**x, output_attentions=True).attentions)
    """
    return Run(name, config=config, model=model, groups=groups, probes=probes, capture_every=capture_every, total_steps=total_steps, classes=classes, steps_per_epoch=steps_per_epoch, model_kind=model_kind, measures=measures, runs_dir=runs_dir, mode=mode, on_stop=on_stop, capture=capture)


def current_run():
    """The current run (None before init and after finish)."""
    return _run.current()


def _need():
    r = _run.current()
    if r is None:
        raise RuntimeError("attention_lens: call attention_lens.init(...) first")
    return r


def watch(model):
    """Captures per-head attention of every nn.MultiheadAttention in `model` (also
    nn.TransformerEncoderLayer's, whose eval fast path would skip it) on the probes. Returns
    the watched modules' names; layer i in the dashboard is the i-th of them."""
    r = _run.current()
    if r is None:
        _run.watch_before_init(model)
        return [n for n, _ in attention_modules(model)]
    return r.watch(model)


def declare(id, kind, label=None, unit=None, groups=None, rows=None, cols=None, scale=None, min=None, max=None, convention=None, display=None, card=None):
    """Declares a measurement before init(): kind "series" (one number per step), "groups" (one
    per named group), "matrix" (rows × cols) or "event" (a marker with text and JSON payload).
    Values then come with log_series / log_groups / log_matrix / log_event."""
    d = make_decl(id, kind, label=label, unit=unit, groups=groups, rows=rows, cols=cols, scale=scale, min=min, max=max, convention=convention, display=display, card=card)
    _run.declare_before_init(d)
    return d


def step(loss, model=None, accuracy=None, epoch=None):
    """Records a step (after backward()) and obeys pause / single step / stop. See Run.step."""
    return _need().step(loss, model, accuracy=accuracy, epoch=epoch)


def log_attention(name, tensor, tokens=None, probe=None):
    _need().log_attention(name, tensor, tokens=tokens, probe=probe)


def log_series(id, value):
    _need().log_series(id, value)


def log_groups(id, values):
    _need().log_groups(id, values)


def log_matrix(id, values):
    _need().log_matrix(id, values)


def log_event(id, text, payload=None):
    _need().log_event(id, text, payload)


def log_eval(validation_loss=float("nan"), validation_accuracy=float("nan"), test_loss=float("nan"), test_accuracy=float("nan")):
    _need().log_eval(validation_loss, validation_accuracy, test_loss, test_accuracy)


def finish():
    """Ends the run as completed (at the end of the script; done at exit when not called)."""
    r = _run.current()
    if r is not None:
        r.finish("completed")
