"""A run: what init() starts and step() records, whichever way the numbers travel.

Transports: the channel to the extension that launched the process (channel.py), a run
folder with a control file (runfolder.py, control.py), or nothing (mode "disabled", and the
ranks other than 0 under torchrun). The training loop is the user's; step() is the one place
the helper works in it: after backward() it records the step, captures attention when due,
and at the step boundary obeys pause, single step and stop.
"""

import atexit
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback

import torch

from . import channel as _channel
from . import frames
from .capture import Capturer, explicit_maps
from .control import POLL_PAUSED, POLL_RUNNING, Control, ControlFile
from .dist import GO, HEARTBEAT, PAUSED, STOP, Collective, env_rank
from .norms import GroupNorms, first_device, non_finite_reason, unwrap
from .runfolder import DEFAULT_RUNS_DIR, RunFolderWriter, create_run_dir, git_commit

SIGTERM_REASON = "the trainer was sent SIGTERM"
_ID = re.compile(r"^[A-Za-z0-9_./:-]{1,100}$")
KINDS = ("series", "groups", "matrix", "event")
MAX_MEASURES = 256
MAX_LABELS = 1024
MAX_EVENT_TEXT = 200
MAX_EVENT_PAYLOAD_CHARS = 16 * 1024


class Stopped(SystemExit):
    """The run was stopped (from VS Code, the control file, or SIGTERM): raised by step() at the
    step boundary on every rank, after the step and everything before it were recorded.

    It is a SystemExit, so an uncaught one ends the script quietly with exit code 0 (143 after
    SIGTERM), and `except Exception` in the training loop does not swallow it. Catch it to save
    a checkpoint: `except attention_lens.Stopped as s: save(...)` (s.step is the last step)."""

    def __init__(self, step, reason=None, code=0):
        super().__init__(code)
        self.step = step
        self.reason = reason

    def __str__(self):
        return f"the run was stopped after step {self.step}" + (f" ({self.reason})" if self.reason else "")


# ─── probes ──────────────────────────────────────────────────────────────────────────


class Probes:
    """The probe inputs whose attention is captured, and their tokens (rows and columns of the maps).

    Either a list, one entry per probe: {"tokens": [...], "input": what model(...) takes for
    that one probe (a tensor, a tuple of positional arguments or a dict of keyword
    arguments; omit it for a probe whose attention only log_attention gives), "label": int},
    or one batch: {"tokens": [[...], ...], "input": the batch, "labels": [...]} (one forward
    pass; probe p is row p of the batch, and its self-attention maps are cut to its tokens).
    """

    def __init__(self, spec):
        self.tokens, self.labels, self.inputs, self.batch = [], [], [], None
        if spec is None:
            return
        if isinstance(spec, dict):
            toks = spec.get("tokens")
            if not isinstance(toks, (list, tuple)) or not all(isinstance(t, (list, tuple)) for t in toks):
                raise ValueError("attention_lens: a probe batch needs 'tokens': a list of token lists")
            self.tokens = [[str(x) for x in t] for t in toks]
            labels = spec.get("labels")
            self.labels = [int(x) for x in labels] if labels is not None else [-1] * len(self.tokens)
            self.batch = spec.get("input")
            self.inputs = [None] * len(self.tokens)
        else:
            for i, p in enumerate(spec):
                if isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[1], (list, tuple)):
                    p = {"input": p[0], "tokens": p[1]}
                if not isinstance(p, dict) or not isinstance(p.get("tokens"), (list, tuple)):
                    raise ValueError(f"attention_lens: probe {i} needs 'tokens' (a list of strings)")
                self.tokens.append([str(x) for x in p["tokens"]])
                self.labels.append(int(p.get("label", -1)))
                self.inputs.append(p.get("input"))
        if len(self.labels) != len(self.tokens):
            raise ValueError("attention_lens: one label per probe")

    def __len__(self):
        return len(self.tokens)

    @property
    def has_inputs(self):
        return self.batch is not None or any(i is not None for i in self.inputs)

    def info(self):
        return [{"tokens": t, "label": l} for t, l in zip(self.tokens, self.labels)]


# ─── measurement declarations ────────────────────────────────────────────────────────


def make_decl(id, kind, label=None, unit=None, groups=None, rows=None, cols=None, scale=None, min=None, max=None, convention=None, display=None, card=None):
    """A MeasureDecl (src/protocol/messages.ts), checked as the host's guard checks it."""
    d = {"id": id, "kind": kind, "label": id if label is None else label}
    for k, v in (("unit", unit), ("groups", groups), ("rows", rows), ("cols", cols), ("scale", scale), ("min", min), ("max", max), ("convention", convention), ("display", display), ("card", card)):
        if v is not None:
            d[k] = [str(x) for x in v] if k in ("groups", "rows", "cols") else v
    check_decl(d)
    return d


def check_decl(d):
    where = f"measurement {d.get('id')!r}"
    if not isinstance(d.get("id"), str) or not _ID.match(d["id"]):
        raise ValueError(f"{where}: an id is 1-100 characters of A-Z a-z 0-9 _ . / : -")
    if d.get("kind") not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
    k = d["kind"]
    if not isinstance(d.get("label"), str) or len(d["label"]) > 200:
        raise ValueError(f"{where}: label must be a string of at most 200 characters")
    for f, n in (("unit", 40), ("convention", 1000), ("card", 100)):
        if f in d and (not isinstance(d[f], str) or len(d[f]) > n):
            raise ValueError(f"{where}: {f} must be a string of at most {n} characters")

    def labels(f):
        v = d.get(f)
        if not isinstance(v, list) or not 1 <= len(v) <= MAX_LABELS or not all(isinstance(x, str) and len(x) <= 200 for x in v):
            raise ValueError(f"{where}: {f} must be 1-{MAX_LABELS} names of at most 200 characters")

    if k == "groups":
        labels("groups")
    elif "groups" in d:
        raise ValueError(f"{where}: only a groups measurement has groups")
    if k == "matrix":
        labels("rows")
        labels("cols")
    elif "rows" in d or "cols" in d:
        raise ValueError(f"{where}: only a matrix has rows and cols")
    if d.get("scale") not in (None, "linear", "log"):
        raise ValueError(f"{where}: scale is 'linear' or 'log'")
    for f in ("min", "max"):
        if f in d and not (isinstance(d[f], (int, float)) and not isinstance(d[f], bool) and math.isfinite(d[f])):
            raise ValueError(f"{where}: {f} must be a finite number")
    if "display" in d and (k != "event" or d["display"] not in ("line", "band")):
        raise ValueError(f"{where}: display ('line' or 'band') is for events")


def width(d):
    return {"series": 1, "groups": len(d.get("groups", [])), "matrix": len(d.get("rows", [])) * len(d.get("cols", []))}.get(d["kind"], 0)


def _json_data(v, depth=16):
    """Whether `v` is JSON data with finite numbers (as the host's isJson)."""
    if v is None or isinstance(v, (bool, str)):
        return True
    if isinstance(v, (int, float)):
        return math.isfinite(v)
    if depth <= 0:
        return False
    if isinstance(v, (list, tuple)):
        return all(_json_data(x, depth - 1) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_data(x, depth - 1) for k, x in v.items())
    return False


def _floats(values):
    """A flat list of floats from a number, a sequence (nested: row-major) or a tensor."""
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.float64).reshape(-1).tolist()
    if isinstance(values, (int, float)):
        return [float(values)]
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_floats(v))
        elif isinstance(v, torch.Tensor):
            out.extend(_floats(v))
        else:
            out.append(float(v))
    return out


# ─── transports ──────────────────────────────────────────────────────────────────────


class _NullTransport:
    """Records nothing: mode 'disabled', and the ranks other than 0."""

    name = "none"

    def started(self, info):
        pass

    def step(self, data):
        pass

    def paused(self, step, reason, attention):
        pass

    def resumed(self, step):
        pass

    def ended(self, status, step, reason=None, summary=None):
        pass

    def poll(self, paused):
        pass

    def tick(self):
        pass


class _ChannelTransport(_NullTransport):
    name = "vscode"

    def __init__(self, ch):
        self.ch = ch

    def started(self, info):
        self.ch.send({"type": "runStarted", "info": info})

    def step(self, data):
        self.ch.queue_step(data)

    def paused(self, step, reason, attention):
        msg = {"type": "paused", "step": step, "reason": reason}
        if attention is not None:
            msg["attention"] = attention
        self.ch.send(msg)

    def resumed(self, step):
        self.ch.send({"type": "resumed", "step": step})

    def ended(self, status, step, reason=None, summary=None):
        if status == "completed":
            self.ch.send({"type": "runCompleted", "summary": summary})
        elif status == "stopped":
            msg = {"type": "runStopped", "step": step}
            if reason is not None:
                msg["reason"] = reason
            self.ch.send(msg)
        else:
            self.ch.send({"type": "runFailed", "message": reason or "the run failed"})
        self.ch.flush()


class _FolderTransport(_NullTransport):
    name = "folder"

    def __init__(self, writer, control):
        self.writer = writer
        self.file = ControlFile(writer.dir, control)
        self._broken = False

    def _guard(self, fn, *args):
        if self._broken:
            return
        try:
            fn(*args)
        except Exception as e:
            self._broken = True
            print(f"attention_lens: could not write the run folder {self.writer.dir}: {e}; the run goes on without it", file=sys.stderr)

    def started(self, info):
        self._guard(self.writer.set_info, info)

    def step(self, data):
        self._guard(self.writer.append_step, data)

    def paused(self, step, reason, attention):
        def write():
            if attention is not None:
                self.writer.append_attention(step, attention)
            self.writer.flush()
            self.writer.set_status("paused", reason)

        self._guard(write)

    def resumed(self, step):
        self._guard(self.writer.set_status, "running", None)

    def ended(self, status, step, reason=None, summary=None):
        if not self._broken:
            try:
                self.writer.close(status, reason, summary)
            except Exception as e:
                print(f"attention_lens: could not close the run folder {self.writer.dir}: {e}", file=sys.stderr)

    def poll(self, paused):
        self.file.poll(POLL_PAUSED if paused else POLL_RUNNING)

    def tick(self):
        self._guard(self.writer.flush_if_due)


# ─── the run ─────────────────────────────────────────────────────────────────────────

_current = None
#: Whether a run was started in this process (the launcher tells a script that never called init).
_started_any = False


def current():
    return _current


class Run:
    """One training run. Made by attention_lens.init(); its methods are the module's functions."""

    def __init__(self, name, config=None, model=None, groups=None, probes=None, capture_every=10, total_steps=0, classes=None, steps_per_epoch=0, model_kind=None, measures=None, runs_dir=None, mode=None, on_stop="raise", capture=None, note=None):
        global _current
        if on_stop not in ("raise", "flag"):
            raise ValueError("attention_lens.init: on_stop is 'raise' or 'flag'")
        mode = mode or os.environ.get("ATTENTION_LENS_MODE") or "auto"
        if mode not in ("auto", "folder", "disabled"):
            raise ValueError("attention_lens.init: mode is 'auto', 'folder' or 'disabled'")
        self.name = str(name)
        self.on_stop = on_stop
        self.capture_every = int(capture_every or 0)
        self.rank, self.world = env_rank()
        self._collective = Collective()
        self._step = 0
        self._ended = None
        self._in_pause = False
        self._single = False
        self._explicit = {}  # probe -> [(layer, head, (L, S) tensor)] logged for the next step
        self._samples = {}
        self._events = []
        self._eval = None
        self._loss_sum = 0.0
        self._last = (math.nan, math.nan)
        self._ms_sum = 0.0
        self._last_return = time.perf_counter()
        self._anchor = (time.monotonic(), 0, -1)
        self.dir = None
        self.probes = Probes(probes)
        self.capturer = Capturer(self.probes, capture)
        self.decls = []
        for d in list(_declared) + list(measures or []):
            d = dict(d)
            check_decl(d)
            if any(x["id"] == d["id"] for x in self.decls):
                raise ValueError(f"attention_lens: measurement {d['id']!r} is declared twice")
            self.decls.append(d)
        if len(self.decls) > MAX_MEASURES:
            raise ValueError(f"attention_lens: at most {MAX_MEASURES} measurements")
        self._decl = {d["id"]: d for d in self.decls}
        model = model if model is not None else _watched
        self.model = model
        self.norms = GroupNorms.from_spec(groups, model)
        if model is not None:
            self.norms.bind(model)
            self.capturer.watch(model)
        self.user_config = config if config is not None else {}
        try:
            json.dumps(self.user_config, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"attention_lens.init: config must be JSON data ({e})") from None

        ch = _channel.current()
        leader = self.rank == 0
        if ch is not None and leader:
            start = ch.wait_start(30)
            if start is None or ch.start is None:
                raise RuntimeError("attention_lens.init: the extension did not start the run (no startRun within 30 s)")
            if start["protocolVersion"] != _channel.PROTOCOL_VERSION:
                msg = f"protocol version mismatch: host speaks {start['protocolVersion']}, trainer speaks {_channel.PROTOCOL_VERSION}"
                ch.send({"type": "runFailed", "message": msg})
                raise RuntimeError(msg)
            if _current is not None:
                raise RuntimeError("attention_lens.init: a process launched from VS Code trains one run")
            self.control = ch.control
            self.transport = _ChannelTransport(ch)
            launch = start.get("config") if isinstance(start.get("config"), dict) else {}
        else:
            self.control = Control()
            launch = {}
            if mode == "disabled" or not leader:
                self.transport = _NullTransport()
            else:
                root = runs_dir or os.environ.get("ATTENTION_LENS_RUNS_DIR") or DEFAULT_RUNS_DIR
                _, path = create_run_dir(root, self.name)
                meta = {"name": self.name, "source": "python", "git": git_commit(os.getcwd())}
                seed = self.user_config.get("seed") if isinstance(self.user_config, dict) else None
                if isinstance(seed, int) and not isinstance(seed, bool):
                    meta["seed"] = seed
                writer = RunFolderWriter(path, meta, None)
                self.transport = _FolderTransport(writer, self.control)
                self.dir = path
        self.info = {
            "name": self.name,
            "modelKind": model_kind or ("encoder" if len(self.probes) else "other"),
            "groups": list(self.norms.names),
            "totalSteps": int(total_steps or 0),
            "stepsPerEpoch": int(steps_per_epoch or 0),
            "classes": [str(c) for c in (classes or [])],
            "probes": self.probes.info(),
            "config": self._run_config(launch),
        }
        if self.decls:
            self.info["measures"] = self.decls
        global _started_any
        _current = self
        _started_any = True
        self._stop_code = 0
        if self.transport.name == "folder":
            self._install_exit_hooks()
        self.transport.started(self.info)
        if not self.norms.names and leader:
            print("attention_lens: no parameter groups (pass model= to init, or watch(model) before it, or groups=[...]): gradient norms are not recorded", file=sys.stderr)
        self._ticker = None
        if self.transport.name == "folder":
            self._ticker = threading.Thread(target=self._tick_loop, name="attention-lens-ticker", daemon=True)
            self._ticker.start()
        # Started paused, or paused before init: wait here, before the first step (under
        # torchrun every rank passes this boundary, so they agree from the start).
        if self._collective.ready():
            if leader:
                self._boundary(0, had_attention=True)
            else:
                self._follow(0)
        elif leader and (self.control.paused or self.control.stop_requested):
            self._boundary(0, had_attention=True)
        self._last_return = time.perf_counter()

    def _run_config(self, launch):
        """The run's config.json: how it was launched (program, args…) and the script's own config."""
        out = {k: v for k, v in launch.items() if k not in ("config", "env")}
        out.setdefault("kind", "python")
        out.setdefault("name", self.name)
        if "program" not in out and "module" not in out:
            out["program"] = sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>"
            out["args"] = list(sys.argv[1:])
        out["config"] = self.user_config
        names = self.capturer.layer_names
        if names:
            out["attentionLayers"] = list(names)
        return out

    # ─── what the user calls ────────────────────────────────────────────────────

    @property
    def step_count(self):
        """The last step recorded."""
        return self._step

    @property
    def stopped(self):
        return self._ended == "stopped"

    def watch(self, model):
        """Captures the attention of every nn.MultiheadAttention in `model` on the probes."""
        self.model = model
        return self.capturer.watch(model)

    def log_attention(self, name, tensor, tokens=None, probe=None):
        """Adds explicit attention to the next step(): `tensor` is one probe's (H, L, S), (L, S)
        or (1, H, L, S) attention (e.g. a Hugging Face model's outputs.attentions[i] with
        output_attentions=True); `name` names its layer; `probe` (an index) or `tokens` (equal
        to one probe's tokens) says which probe it belongs to (the only one when there is one)."""
        if probe is None:
            if tokens is not None:
                toks = [str(t) for t in tokens]
                if toks not in self.probes.tokens:
                    raise ValueError("log_attention: these tokens are none of the probes' (init(probes=...) declares them)")
                probe = self.probes.tokens.index(toks)
            elif len(self.probes) == 1:
                probe = 0
            else:
                raise ValueError(f"log_attention: say which probe (probe=index or tokens=...); the run has {len(self.probes)}")
        if not 0 <= probe < len(self.probes):
            raise ValueError(f"log_attention: probe {probe} of {len(self.probes)}")
        maps = explicit_maps(tensor)
        layer = self.capturer.layer_index(str(name))
        lst = self._explicit.setdefault(probe, [])
        lst[:] = [m for m in lst if m[0] != layer]
        for h in range(maps.shape[0]):
            lst.append((layer, h, maps[h]))

    def _decl_of(self, id, kinds):
        d = self._decl.get(id)
        if d is None:
            raise ValueError(f"measurement {id!r} is not declared (declare it before init, or pass measures= to init)")
        if d["kind"] not in kinds:
            raise ValueError(f"measurement {id!r} is a {d['kind']}")
        return d

    def log_series(self, id, value):
        """One value of a series measurement, recorded with the next step()."""
        self._decl_of(id, ("series",))
        self._samples[id] = frames.f64([float(value)])

    def log_groups(self, id, values):
        """One value per declared group (a list in the declaration's order, or {group: value})."""
        d = self._decl_of(id, ("groups",))
        if isinstance(values, dict):
            missing = [g for g in d["groups"] if g not in values]
            if missing or len(values) != len(d["groups"]):
                raise ValueError(f"log_groups({id!r}): give a value for each of {d['groups']}")
            vals = [float(values[g]) for g in d["groups"]]
        else:
            vals = _floats(values)
        if len(vals) != width(d):
            raise ValueError(f"log_groups({id!r}): {len(vals)} values for {width(d)} groups")
        self._samples[id] = frames.f64(vals)

    def log_matrix(self, id, values):
        """A rows × cols matrix (nested lists or a tensor), recorded with the next step()."""
        d = self._decl_of(id, ("matrix",))
        vals = _floats(values)
        if len(vals) != width(d):
            raise ValueError(f"log_matrix({id!r}): {len(vals)} values for a {len(d['rows'])}×{len(d['cols'])} matrix")
        self._samples[id] = frames.f64(vals)

    def log_event(self, id, text, payload=None):
        """An event at the next step(): a short text (its marker's label) and small JSON data."""
        self._decl_of(id, ("event",))
        text = str(text)
        if len(text) > MAX_EVENT_TEXT:
            raise ValueError(f"log_event({id!r}): text of {len(text)} characters (at most {MAX_EVENT_TEXT})")
        e = {"id": id, "text": text}
        if payload is not None:
            if not _json_data(payload) or len(json.dumps(payload)) > MAX_EVENT_PAYLOAD_CHARS:
                raise ValueError(f"log_event({id!r}): the payload must be JSON data with finite numbers, at most 16 KiB")
            e["payload"] = payload
        self._events.append(e)

    def log_eval(self, validation_loss=math.nan, validation_accuracy=math.nan, test_loss=math.nan, test_accuracy=math.nan):
        """An evaluation, recorded with the next step() (the dashboard's accuracy and loss charts)."""
        self._eval = {"validationLoss": float(validation_loss), "validationAccuracy": float(validation_accuracy), "testLoss": float(test_loss), "testAccuracy": float(test_accuracy)}

    def step(self, loss, model=None, accuracy=None, epoch=None):
        """Records one optimiser step (call it after backward(), while the gradients are there),
        then obeys pause / single step / stop. Returns True; after a stop it raises Stopped, or
        (on_stop='flag') returns False."""
        if self._ended is not None:
            if self._ended == "stopped" and self.on_stop == "flag":
                return False
            raise RuntimeError(f"attention_lens.step: the run has ended ({self._ended})")
        self._step += 1
        n = self._step
        if self.rank != 0:
            return self._follow(n)
        model = model if model is not None else self.model
        single, self._single = self._single, False
        loss_v, acc_v, norms = self._numbers(loss, accuracy, model)
        g = len(self.norms.names)
        data = {
            "step": n,
            "epoch": int(epoch) if epoch is not None else (math.ceil(n / self.info["stepsPerEpoch"]) if self.info["stepsPerEpoch"] else 0),
            "loss": loss_v,
            "trainAccuracy": acc_v,
            "gradNorms": frames.f64(norms[:g]),
            "weightNorms": frames.f64(norms[g:]),
        }
        due = single or (self.capture_every > 0 and (n == 1 or n % self.capture_every == 0))
        attention = self._frame(due)
        if attention is not None:
            data["attention"] = attention
        if self._eval is not None:
            data["eval"], self._eval = self._eval, None
        if self._samples:
            data["measures"] = [{"id": k, "values": v} for k, v in self._samples.items()]
            self._samples = {}
        if self._events:
            data["events"] = [dict(e, step=n) for e in self._events]
            self._events = []
        data["stepMs"] = (time.perf_counter() - self._last_return) * 1000.0
        data["wallTime"] = time.time() * 1000.0
        self._ms_sum += data["stepMs"]
        self._last = (loss_v, acc_v)
        self.transport.step(data)
        bad = non_finite_reason(n, loss_v, norms[:g], self.norms.names)
        if bad is not None:
            self.control.pause(bad)
        out = self._boundary(n, attention is not None)
        self._last_return = time.perf_counter()
        return out

    def finish(self, status="completed", reason=None):
        """Ends the run (attention_lens.finish() at the end of a script; done at exit otherwise)."""
        global _current
        if self._ended is not None:
            return
        self._ended = status
        if self.rank == 0:
            summary = None
            if status == "completed":
                loss, acc = self._last
                summary = {"steps": self._step, "loss": loss, "trainAccuracy": acc, "validationAccuracy": math.nan, "testAccuracy": math.nan, "msPerStep": self._ms_sum / self._step if self._step else 0.0}
            self.transport.ended(status, self._step, reason, summary)
        if _current is self:
            _current = None

    # ─── inside step() ──────────────────────────────────────────────────────────

    def _numbers(self, loss, accuracy, model):
        """(loss, accuracy, [2G norms]) as Python floats, with one device-to-host transfer."""
        if model is not None:
            self.norms.bind(model)
        device = first_device(model) if model is not None else torch.device("cpu")
        parts, where = [], []
        for v in (loss, accuracy):
            if isinstance(v, torch.Tensor):
                parts.append(v.detach().reshape(-1)[:1].to(device=device, dtype=torch.float64))
                where.append(True)
            else:
                where.append(False)
        if self.norms.names and model is not None:
            parts.append(self.norms.compute(device))
        got = torch.cat(parts).cpu().tolist() if parts else []
        i = 0
        vals = []
        for v, is_t in zip((loss, accuracy), where):
            if is_t:
                vals.append(got[i])
                i += 1
            else:
                vals.append(math.nan if v is None else float(v))
        norms = got[i:] if self.norms.names and model is not None else [0.0] * (2 * len(self.norms.names))
        return vals[0], vals[1], norms

    def _frame(self, due):
        """The step's attention frame (protocol AttentionMapData lists per probe), or None."""
        maps = [[] for _ in range(len(self.probes))]
        have = False
        if due and self.capturer.can_capture:
            for p, ms in enumerate(self.capturer.run()):
                maps[p].extend(ms)
                have = have or bool(ms)
        for p, ms in self._explicit.items():
            layers = {m[0] for m in ms}
            maps[p] = [m for m in maps[p] if m[0] not in layers] + ms
            have = have or bool(ms)
        self._explicit = {}
        if not have:
            return None
        return [[{"layer": l, "head": h, "stage": "weights", "rows": int(t.shape[0]), "cols": int(t.shape[1]), "data": frames.f32_tensor(t)} for l, h, t in sorted(ms, key=lambda m: (m[0], m[1]))] for ms in maps]

    def _pace_wait(self, had_attention):
        c = self.control
        at, steps, version = self._anchor
        pace = c.pace
        if version != c.pace_version:
            at, steps = time.monotonic(), 0
        rate, hold = pace.get("stepsPerSecond"), pace.get("holdMs") or 0
        ms = 0.0
        if rate:
            steps += 1
            ms = steps * 1000.0 / rate - (time.monotonic() - at) * 1000.0
        if hold > 0 and had_attention:
            ms = max(ms, 0.0) + hold
            at += hold / 1000.0
        self._anchor = (at, steps, c.pace_version)
        if ms >= 1:
            end = time.monotonic() + ms / 1000.0
            v = c.version
            while not c.paused and not c.stop_requested and c.version == v:
                left = end - time.monotonic()
                if left <= 0:
                    break
                c.wait(left, v)
                self.transport.poll(False)

    def _boundary(self, n, had_attention):
        """At the end of step n: go on, wait paused (every rank at this step), or stop."""
        c = self.control
        if n > 0 and not c.paused and not c.stop_requested:
            self._pace_wait(had_attention)
        while True:
            self.transport.poll(c.paused)
            took = False
            with c.cond:
                stop, paused, reason = c.stop_requested, c.paused, c.pause_reason
                if not stop and paused and c.pending_steps > 0:
                    c.pending_steps -= 1
                    took = True
            if stop:
                code = STOP
            elif not paused:
                if self._in_pause:
                    self._in_pause = False
                    self._anchor = (time.monotonic(), 0, c.pace_version)
                    self.transport.resumed(n)
                code = GO
            elif took:
                self._single = True  # the next step captures, and the run stays paused after it
                code = GO
            else:
                if not self._in_pause:
                    self._in_pause = True
                    attention = None if had_attention else self._frame(True)
                    self.transport.paused(n, reason or "paused", attention)
                code = PAUSED
            code = self._collective.decide(code)
            if code == GO:
                return True
            if code == STOP:
                return self._stopped(n, c.stop_reason)
            v = c.version
            c.wait(POLL_PAUSED if self.transport.name == "folder" else HEARTBEAT, v)

    def _follow(self, n):
        """A rank other than 0 at the end of step n: does what rank 0 decides."""
        while True:
            code = self._collective.decide(None)
            if code is None or code == GO:
                return True
            if code == STOP:
                return self._stopped(n, None)

    def _stopped(self, n, reason):
        self.finish("stopped", reason)
        if reason == SIGTERM_REASON:
            self._stop_code = 143
        if self.on_stop == "flag":
            return False
        raise Stopped(n, reason, self._stop_code)

    # ─── background and exit ────────────────────────────────────────────────────

    def _tick_loop(self):
        while self._ended is None:
            time.sleep(0.05)
            try:
                self.transport.tick()
            except Exception:
                pass

    def _install_exit_hooks(self):
        """A script that ends (or dies of an exception) without finish(): the folder still closes."""
        prior = sys.excepthook

        def hook(kind, value, tb):
            if _current is self and self._ended is None and not issubclass(kind, SystemExit):
                self.finish("stopped" if issubclass(kind, KeyboardInterrupt) else "failed", exception_summary(value, tb))
            prior(kind, value, tb)

        sys.excepthook = hook
        atexit.register(lambda: self._ended is None and self.finish("completed"))
        install_sigterm(self.control)


def install_sigterm(control):
    """SIGTERM (a cluster's scheduler, the extension) stops the run at the next step boundary:
    the step finishes and is recorded, the run ends stopped with the reason, exit code 143."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
            return
        signal.signal(signal.SIGTERM, lambda *_: control.stop(SIGTERM_REASON))
    except (ValueError, OSError, AttributeError):
        pass


def exception_summary(value, tb, skip=()):
    """The last lines of a traceback as one line: `ValueError: boom (train.py:12 in main)`."""
    frames_ = [f for f in traceback.extract_tb(tb) if not any(s in f.filename for s in skip)]
    where = ""
    if frames_:
        f = frames_[-1]
        where = f" ({os.path.basename(f.filename)}:{f.lineno} in {f.name})"
    text = "".join(traceback.format_exception_only(type(value), value)).strip().splitlines()
    line = text[-1] if text else type(value).__name__
    return (line[:400] + where)


# Declarations made before init(), and a model watched before it.
_declared = []
_watched = None


def declare_before_init(d):
    if _current is not None:
        raise RuntimeError("attention_lens.declare: declare measurements before init() (the run's info is sent once), or pass measures= to init()")
    if any(x["id"] == d["id"] for x in _declared):
        raise ValueError(f"attention_lens.declare: {d['id']!r} is declared twice")
    _declared.append(d)


def watch_before_init(model):
    global _watched
    _watched = model
