"""The run folder, format version 2 (docs/run-format.md), written and read in plain Python.

This is what a script writes when the extension did not launch it (a terminal, a cluster
job, a notebook): the same crash-safe folder as the command line, which the extension's Runs
view follows live. The bytes are those of src/runs/store/format.ts and records.ts:

* every stream file: a 16-byte header ("ALRS", kind, u16 version 2, u16 width, u32 CRC-32 of
  bytes 0-11), then records (u32 payload length n, n payload bytes, u32 CRC-32 of the length
  field and the payload), only ever appended whole;
* records are kept in memory and appended with one write per file at flush(): when the
  oldest unwritten record is 200 ms old (or 1 MiB is buffered), at a pause, at close, and
  from the caller's idle timer (`flush_if_due`); a process killed at any instant loses only
  what was appended since the last flush;
* meta.json and config.json are replaced atomically (a temporary file renamed over the old
  one); meta.json carries the CRC-32 of its canonical JSON (JavaScript's JSON.stringify of
  the document without its checksum) as "checksum".

`read_run` reads a folder back (any writer's, both format versions), strictly: it raises
RunFormatError on damage. scripts/read_run.py is the reader that reports damage and reads on.
"""

import datetime
import json
import math
import os
import re
import socket
import struct
import threading
import time
import zlib

FORMAT_VERSION = 2
META_FORMAT = "attention-lens-run"
MAGIC = b"ALRS"
HEADER = struct.Struct("<4s4sHHI")
STAGES = ["weights", "logits", "premix", "mixed"]
FILES = {
    "scalars": ("scalars.bin", b"SCAL"),
    "evals": ("evals.bin", b"EVAL"),
    "identity": ("identity.bin", b"IDEN"),
    "attention": ("attention.bin", b"ATTN"),
    "attentionIndex": ("attention.idx", b"AIDX"),
    "measures": ("measures.bin", b"MEAS"),
    "events": ("events.bin", b"EVNT"),
}
#: The order a flush writes the streams in (attention.bin before its index).
STREAMS = ["scalars", "evals", "identity", "attention", "attentionIndex", "measures", "events"]
DEFAULT_RUNS_DIR = os.path.join(".attention-lens", "runs")


class RunFormatError(Exception):
    pass


# ─── JSON as JavaScript writes it (for meta.json's checksum) ─────────────────────────


def js_number(x):
    """A number as JavaScript's JSON.stringify writes it (shortest round-trip digits, JS exponent rules)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    mant, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mant.partition(".")
    every = whole + frac
    lead = len(every) - len(every.lstrip("0"))
    digits = every[lead:].rstrip("0") or "0"
    n = len(whole) + int(exp or 0) - lead  # value = 0.DIGITS × 10^n
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def js_json(v, indent=None, _level=0):
    """JSON text as JavaScript's JSON.stringify(v, null, indent) writes it."""
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return js_number(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    nl = "" if indent is None else "\n" + " " * (indent * (_level + 1))
    end = "" if indent is None else "\n" + " " * (indent * _level)
    colon = ":" if indent is None else ": "
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[" + ",".join(nl + js_json(x, indent, _level + 1) for x in v) + end + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{" + ",".join(nl + json.dumps(str(k), ensure_ascii=False) + colon + js_json(x, indent, _level + 1) for k, x in v.items()) + end + "}"
    raise TypeError(f"not JSON data: {type(v).__name__}")


def meta_checksum(doc):
    """crc32 (8 lowercase hex digits) of the canonical JSON of `doc` without its checksum."""
    rest = {k: v for k, v in doc.items() if k != "checksum"}
    return "%08x" % zlib.crc32(js_json(rest).encode("utf-8", "surrogatepass"))


def seal_meta(meta):
    """`meta` as a reader will parse it (non-finite numbers become null), with its checksum last."""
    plain = json.loads(js_json({k: v for k, v in meta.items() if k != "checksum" and v is not None}))
    plain["checksum"] = meta_checksum(plain)
    return plain


def write_json_atomic(path, value, fsync=False):
    """Writes `value` to `path` so that a reader sees the old file or the new one, never half of one."""
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.getpid()}.tmp")  # format.ts tempFileName
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(js_json(value, 2) + "\n")
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if fsync and hasattr(os, "O_DIRECTORY"):
        try:
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass


# ─── run ids and folders ─────────────────────────────────────────────────────────────


def make_run_id(name, now=None):
    """`20240501-142233-lu-fc-fast`: the local start time, then the name (as listing.ts makes it)."""
    now = now or datetime.datetime.now()
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower())
    slug = re.sub(r"^[-.]+|-+$", "", slug)[:60]
    stamp = now.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{slug}" if slug else stamp


def create_run_dir(root, name, now=None):
    """A new, empty run folder under `root` (created if absent); -2, -3… keep ids unique. (id, path)."""
    os.makedirs(root, exist_ok=True)
    base = make_run_id(name, now)
    i = 1
    while True:
        rid = base if i == 1 else f"{base}-{i}"
        path = os.path.join(root, rid)
        try:
            os.mkdir(path)  # an atomic claim: fails when another writer took the name
            return rid, path
        except FileExistsError:
            i += 1


def git_commit(cwd):
    """{"commit", "branch"} of the git work tree at `cwd`, or None (best effort, no git needed)."""
    d = os.path.abspath(cwd)
    while True:
        g = os.path.join(d, ".git")
        if os.path.isdir(g):
            break
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
    try:
        with open(os.path.join(g, "HEAD"), encoding="utf-8") as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return {"commit": head} if re.fullmatch(r"[0-9a-f]{40}", head) else None
        ref = head[5:]
        path = os.path.join(g, *ref.split("/"))
        commit = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                commit = f.read().strip()
        else:
            packed = os.path.join(g, "packed-refs")
            if os.path.exists(packed):
                with open(packed, encoding="utf-8") as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) == 2 and parts[1] == ref:
                            commit = parts[0]
        if not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
            return None
        out = {"commit": commit}
        if ref.startswith("refs/heads/"):
            out["branch"] = ref[len("refs/heads/"):]
        return out
    except OSError:
        return None


def _iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % int((t % 1) * 1000)


# ─── writing ─────────────────────────────────────────────────────────────────────────


class _Stream:
    def __init__(self, path, kind):
        self.path = path
        self.kind = kind
        self.fd = None
        self.pending = []
        self.pending_bytes = 0
        self.written = 0
        self.records = 0
        self.flushed_records = 0
        self.width = None
        self.last_step = -1

    @property
    def end_offset(self):
        return self.written + self.pending_bytes

    def append(self, payload, width=0):
        n = len(payload)
        if n % 4:
            raise ValueError(f"record of {n} bytes")
        if self.width is None:
            if width > 0xFFFF:
                raise ValueError(f"{os.path.basename(self.path)}: width {width} does not fit the header's u16")
            self.width = width
            head = struct.pack("<4s4sHH", MAGIC, self.kind, FORMAT_VERSION, width)
            head += struct.pack("<I", zlib.crc32(head))
            self.pending.append(head)
            self.pending_bytes += len(head)
        length = struct.pack("<I", n)
        rec = length + payload + struct.pack("<I", zlib.crc32(payload, zlib.crc32(length)))
        self.pending.append(rec)
        self.pending_bytes += len(rec)
        self.records += 1

    def write_out(self):
        if not self.pending:
            return False
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        data = b"".join(self.pending)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        self.written += len(data)
        self.pending = []
        self.pending_bytes = 0
        self.flushed_records = self.records
        return True

    def fsync(self):
        if self.fd is not None:
            os.fsync(self.fd)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
        self.fd = None


def _check_step(step, s):
    if not isinstance(step, int) or step < 0 or step > 0xFFFFFFFF:
        raise ValueError(f"step {step} is not a u32")
    if step <= s.last_step:
        raise ValueError(f"{os.path.basename(s.path)}: step {step} after step {s.last_step}")


def _f32_bytes(values):
    """Little-endian f32 bytes of a TypedArray (frames.py), a tensor or a sequence of numbers."""
    from . import frames

    if isinstance(values, frames.TypedArray):
        if values.kind == "f32":
            return bytes(values.data)
        values = values.tolist()
    elif hasattr(values, "detach"):
        return bytes(frames.f32_tensor(values).data)
    return struct.pack(f"<{len(values)}f", *values)


def _floats(values):
    from . import frames

    if isinstance(values, frames.TypedArray):
        return values.tolist()
    return list(values)


class RunFolderWriter:
    """Records one run into its folder as it trains (the Python twin of src/runs/store/writer.ts).

    Steps are protocol StepData dicts (the helper's own shape: gradNorms etc. as sequences or
    frames.TypedArray; attention as a list over probes of map dicts).
    """

    def __init__(self, path, meta, config, flush_interval=0.2, max_pending_bytes=1 << 20, fsync="close"):
        os.makedirs(path, exist_ok=True)
        if os.path.exists(os.path.join(path, "meta.json")):
            raise FileExistsError(f"{path} already holds a run")
        self.dir = path
        self.flush_interval = flush_interval
        self.max_pending_bytes = max_pending_bytes
        self.fsync_mode = fsync
        self._lock = threading.RLock()
        self._streams = {k: _Stream(os.path.join(path, f), kind) for k, (f, kind) in FILES.items()}
        self._pending_since = None
        self._closed = False
        self._failure = None
        self._decl_index = {}
        self._decls = {}
        started = meta.get("startedAt") or time.time()
        m = {
            "format": META_FORMAT,
            "formatVersion": FORMAT_VERSION,
            "id": os.path.basename(os.path.abspath(path)),
            "name": meta["name"],
            "preset": meta.get("preset"),
            "configFile": meta.get("configFile"),
            "seed": meta.get("seed"),
            "source": meta.get("source"),
            "startedAt": _iso(started) if isinstance(started, (int, float)) else started,
            "status": meta.get("status", "running"),
            "git": meta.get("git"),
            "writer": {"pid": os.getpid(), "hostname": socket.gethostname()},
        }
        self._meta = {k: v for k, v in m.items() if v is not None}
        if meta.get("info") is not None:
            self._apply_info(meta["info"])
        # meta.json first: a folder that holds anything holds a listable run.
        self._write_meta()
        write_json_atomic(os.path.join(path, "config.json"), config, self.fsync_mode != "never")

    @property
    def id(self):
        return self._meta["id"]

    @property
    def metadata(self):
        return json.loads(json.dumps(self._meta))

    def counts(self, flushed=False):
        s = self._streams
        a = "flushed_records" if flushed else "records"
        return {
            "steps": getattr(s["scalars"], a),
            "evals": getattr(s["evals"], a),
            "identity": getattr(s["identity"], a),
            "attention": getattr(s["attention"], a),
            "measures": getattr(s["measures"], a),
            "events": getattr(s["events"], a),
        }

    def _apply_info(self, info):
        info = {k: v for k, v in info.items() if k != "config"}
        self._meta["info"] = json.loads(json.dumps(info))
        decls = info.get("measures") or []
        self._decls = {d["id"]: d for d in decls}
        self._decl_index = {d["id"]: i for i, d in enumerate(decls)}

    def set_info(self, info):
        with self._lock:
            self._check_open()
            if self._streams["measures"].records + self._streams["events"].records > 0:
                old = self._meta.get("info", {}).get("measures") or []
                new = info.get("measures") or []
                if any(i >= len(new) or new[i]["id"] != d["id"] for i, d in enumerate(old)):
                    raise ValueError("info.measures may only be extended once measurements are recorded")
            self._apply_info(info)
            if "config" in info:
                write_json_atomic(os.path.join(self.dir, "config.json"), info["config"], self.fsync_mode != "never")
            self._write_meta()

    def set_status(self, status, reason=None):
        """Records a live status change (paused with its reason, running again) in meta.json."""
        with self._lock:
            if self._closed:
                return
            self._meta["status"] = status
            if reason is None:
                self._meta.pop("statusReason", None)
            else:
                self._meta["statusReason"] = reason
            self._write_meta()

    def _write_meta(self):
        write_json_atomic(os.path.join(self.dir, "meta.json"), seal_meta(self._meta), self.fsync_mode != "never")

    def _check_open(self):
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise ValueError(f"run {self.id} is closed")

    def append_step(self, d):
        """Records one step: its scalars, and its eval, attention, measurement samples and events when it has them."""
        with self._lock:
            self._check_open()
            s = self._streams["scalars"]
            step = d["step"]
            _check_step(step, s)
            grad = _floats(d["gradNorms"])
            weight = _floats(d["weightNorms"])
            g = len(grad)
            if len(weight) != g:
                raise ValueError(f"step {step}: {g} gradNorms, {len(weight)} weightNorms")
            groups = s.width if s.width is not None else len(self._meta.get("info", {}).get("groups", grad))
            if g != groups:
                raise ValueError(f"step {step} has {g} norms, the run has {groups} groups")
            ev = d.get("eval")
            if ev is not None:
                _check_step(step, self._streams["evals"])
            ident = d.get("identity")
            if ident is not None:
                ident = self._identity_columns(step, ident)
            att = d.get("attention")
            att_payload = self._attention_payload(step, att) if att is not None else None
            measures = self._measure_payloads(step, d.get("measures"), d.get("events"))

            s.append(struct.pack(f"<Idff{2 * g}f", step, float(d["loss"]), float(d.get("trainAccuracy", math.nan)), float(d.get("stepMs", 0.0)), *grad, *weight), g)
            s.last_step = step
            if ev is not None:
                self._append_eval(step, ev)
            if ident is not None:
                self._append_identity(step, ident)
            if att_payload is not None:
                self._append_attention(step, att_payload)
            if measures is not None:
                self._append_measures(step, *measures)
            self._after_append()

    def append_attention(self, step, probes):
        """Records the attention of every probe at `step` (a frame without a step of its own: a pause's)."""
        with self._lock:
            self._check_open()
            self._append_attention(step, self._attention_payload(step, probes))
            self._after_append()

    def _identity_columns(self, step, ident):
        s = self._streams["identity"]
        _check_step(step, s)
        cols = [_floats(ident[k]) for k in ("score", "measured", "theory", "relError")]
        k = len(cols[0])
        if any(len(c) != k for c in cols):
            raise ValueError(f"identity at step {step}: columns differ in length")
        if s.width is not None and s.width != k:
            raise ValueError(f"identity at step {step} has {k} topic words, the run has {s.width}")
        return cols

    def _append_identity(self, step, cols):
        s = self._streams["identity"]
        k = len(cols[0])
        s.append(struct.pack(f"<I{4 * k}f", step, *cols[0], *cols[1], *cols[2], *cols[3]), k)
        s.last_step = step

    def _append_eval(self, step, e):
        s = self._streams["evals"]
        ta = e.get("topicAttention")
        s.append(struct.pack("<II5d", step, 1 if ta is not None else 0, e["validationLoss"], e["validationAccuracy"], e["testLoss"], e["testAccuracy"], math.nan if ta is None else ta))
        s.last_step = step

    def _attention_payload(self, step, probes):
        _check_step(step, self._streams["attention"])
        parts = [struct.pack("<II", step, len(probes))]
        for maps in probes:
            parts.append(struct.pack("<I", len(maps)))
            for m in maps:
                data = _f32_bytes(m["data"])
                if len(data) != 4 * m["rows"] * m["cols"]:
                    raise ValueError(f"attention at step {step}: a {m['rows']}×{m['cols']} map has {len(data) // 4} values")
                parts.append(struct.pack("<5I", m["layer"], m["head"], STAGES.index(m.get("stage", "weights")), m["rows"], m["cols"]))
                parts.append(data)
        return b"".join(parts)

    def _append_attention(self, step, payload):
        s = self._streams["attention"]
        offset = s.end_offset + (16 if s.width is None else 0)
        s.append(payload, 0)
        s.last_step = step
        self._streams["attentionIndex"].append(struct.pack("<IIQ", step, len(payload), offset), 0)

    def _measure_payloads(self, step, samples, events):
        if not samples and not events:
            return None
        seen = set()
        rec = None
        if samples:
            _check_step(step, self._streams["measures"])
            parts = [struct.pack("<II", step, len(samples))]
            for smp in samples:
                i = self._decl_index.get(smp["id"])
                d = self._decls.get(smp["id"])
                if d is None:
                    raise ValueError(f"step {step}: measurement {smp['id']!r} is not declared")
                if d["kind"] == "event":
                    raise ValueError(f"step {step}: {smp['id']!r} is an event, not a value")
                vals = _floats(smp["values"])
                if len(vals) != _width(d):
                    raise ValueError(f"step {step}: {smp['id']!r} has {len(vals)} values, its declaration {_width(d)}")
                if smp["id"] in seen:
                    raise ValueError(f"step {step}: {smp['id']!r} recorded twice")
                seen.add(smp["id"])
                parts.append(struct.pack(f"<II{len(vals)}d", i, len(vals), *vals))
            rec = b"".join(parts)
        bodies = []
        for e in events or []:
            d = self._decls.get(e["id"])
            if d is None or d["kind"] != "event":
                raise ValueError(f"step {step}: event {e['id']!r} is not declared as an event")
            doc = {"text": e["text"]}
            if "payload" in e:
                doc["payload"] = e["payload"]
            bodies.append((self._decl_index[e["id"]], js_json(doc).encode("utf-8")))
        if bodies and step < self._streams["events"].last_step:
            raise ValueError(f"events.bin: step {step} after step {self._streams['events'].last_step}")
        return rec, bodies

    def _append_measures(self, step, rec, bodies):
        if rec is not None:
            s = self._streams["measures"]
            s.append(rec, 0)
            s.last_step = step
        ev = self._streams["events"]
        for seq, (index, body) in enumerate(bodies):
            ev.append(struct.pack("<IIII", step, seq, index, len(body)) + body + b"\0" * ((-len(body)) % 4), 0)
            ev.last_step = step

    def _after_append(self):
        now = time.monotonic()
        if self._pending_since is None:
            self._pending_since = now
            return
        if now - self._pending_since >= self.flush_interval or sum(s.pending_bytes for s in self._streams.values()) >= self.max_pending_bytes:
            self.flush()

    def flush_if_due(self):
        """Flushes when the oldest unwritten record is flush_interval old (an idle timer calls this)."""
        with self._lock:
            if not self._closed and self._failure is None and self._pending_since is not None and time.monotonic() - self._pending_since >= self.flush_interval:
                self.flush()

    def flush(self):
        """Writes everything appended so far to the files; returns the records now in them."""
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._closed:
                return self.counts(True)
            self._pending_since = None
            try:
                for name in STREAMS:
                    s = self._streams[name]
                    if s.write_out() and self.fsync_mode == "always":
                        s.fsync()
            except OSError as e:
                self._failure = e
                raise
            return self.counts(True)

    def close(self, status, reason=None, summary=None):
        """Flushes, fsyncs, closes the files and records the final status, end time, summary and counts."""
        with self._lock:
            if self._closed:
                return
            error = None
            try:
                if self._failure is None:
                    self.flush()
            except OSError as e:
                error = e
            for s in self._streams.values():
                try:
                    if self.fsync_mode != "never" and self._failure is None:
                        s.fsync()
                except OSError as e:
                    error = error or e
                try:
                    s.close()
                except OSError as e:
                    error = error or e
            self._closed = True
            m = self._meta
            m["status"] = status
            if reason is not None:
                m["statusReason"] = reason
            else:
                m.pop("statusReason", None)
            m["endedAt"] = _iso(time.time())
            if summary is not None:
                m["summary"] = summary
            if self._failure is None and error is None:
                m["counts"] = self.counts(True)
            self._write_meta()
            if self._failure is not None or error is not None:
                raise self._failure or error


def _width(d):
    k = d["kind"]
    if k == "series":
        return 1
    if k == "groups":
        return len(d.get("groups") or [])
    if k == "matrix":
        return len(d.get("rows") or []) * len(d.get("cols") or [])
    return 0


# ─── reading (strict) ────────────────────────────────────────────────────────────────


def _records(path, kind):
    """(width, [payload bytes]) of a stream file; [] when it does not exist. Raises RunFormatError on damage."""
    if not os.path.exists(path):
        return None, []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16:
        raise RunFormatError(f"{path}: header is {len(data)} of 16 bytes")
    magic, k, version, width, crc = HEADER.unpack_from(data, 0)
    if magic != MAGIC or crc != zlib.crc32(data[:12]) or k != kind or version not in (1, 2):
        raise RunFormatError(f"{path}: not a valid {kind.decode()} stream header")
    out = []
    off = 16
    while off < len(data):
        if off + 4 > len(data):
            raise RunFormatError(f"{path}: torn at {off}")
        (n,) = struct.unpack_from("<I", data, off)
        if off + 8 + n > len(data):
            raise RunFormatError(f"{path}: torn at {off}")
        (c,) = struct.unpack_from("<I", data, off + 4 + n)
        if c != zlib.crc32(data[off : off + 4 + n]):
            raise RunFormatError(f"{path}: corrupt record at {off}")
        out.append(data[off + 4 : off + 4 + n])
        off += 8 + n
    return width, out


def read_run(path):
    """A run folder as plain data: {"meta", "config", "scalars": [row dicts], "evals", "identity",
    "attention": {step: [[map dicts]]}, "measures": [{"id", "step", "values"}], "events": [...]}.
    Raises RunFormatError on any damage (a torn or corrupt record, a bad checksum, a shortfall
    against meta.json's counts)."""
    with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != META_FORMAT:
        raise RunFormatError(f"{path}: meta.json is not a run's")
    if "checksum" in meta:
        if meta["checksum"] != meta_checksum(meta):
            raise RunFormatError(f"{path}: meta.json's checksum does not match")
    elif meta.get("formatVersion", 1) >= 2:
        raise RunFormatError(f"{path}: a version-2 meta.json without a checksum")
    config = None
    if os.path.exists(os.path.join(path, "config.json")):
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    info = meta.get("info") or {}
    decls = info.get("measures") or []
    out = {"meta": meta, "config": config, "scalars": [], "evals": [], "attention": {}, "measures": [], "events": []}
    g, recs = _records(os.path.join(path, "scalars.bin"), b"SCAL")
    for p in recs:
        step, loss, acc, ms, *norms = struct.unpack(f"<Idff{2 * g}f", p)
        out["scalars"].append({"step": step, "loss": loss, "trainAccuracy": acc, "stepMs": ms, "gradNorms": norms[:g], "weightNorms": norms[g:]})
    _, recs = _records(os.path.join(path, "evals.bin"), b"EVAL")
    for p in recs:
        step, flags, vl, va, tl, ta, topic = struct.unpack("<II5d", p)
        e = {"step": step, "validationLoss": vl, "validationAccuracy": va, "testLoss": tl, "testAccuracy": ta}
        if flags & 1:
            e["topicAttention"] = topic
        out["evals"].append(e)
    out["identity"] = []
    k, recs = _records(os.path.join(path, "identity.bin"), b"IDEN")
    for p in recs:
        step, *v = struct.unpack(f"<I{4 * k}f", p)
        out["identity"].append({"step": step, "score": v[:k], "measured": v[k : 2 * k], "theory": v[2 * k : 3 * k], "relError": v[3 * k :]})
    _, recs = _records(os.path.join(path, "attention.bin"), b"ATTN")
    for p in recs:
        step, n_probes = struct.unpack_from("<II", p, 0)
        o = 8
        probes = []
        for _ in range(n_probes):
            (n_maps,) = struct.unpack_from("<I", p, o)
            o += 4
            maps = []
            for _ in range(n_maps):
                layer, head, stage, rows, cols = struct.unpack_from("<5I", p, o)
                o += 20
                data = list(struct.unpack_from(f"<{rows * cols}f", p, o))
                o += 4 * rows * cols
                maps.append({"layer": layer, "head": head, "stage": STAGES[stage], "rows": rows, "cols": cols, "data": data})
            probes.append(maps)
        out["attention"][step] = probes
    _, recs = _records(os.path.join(path, "measures.bin"), b"MEAS")
    for p in recs:
        step, count = struct.unpack_from("<II", p, 0)
        o = 8
        for _ in range(count):
            index, n = struct.unpack_from("<II", p, o)
            o += 8
            vals = list(struct.unpack_from(f"<{n}d", p, o))
            o += 8 * n
            out["measures"].append({"id": decls[index]["id"], "step": step, "values": vals})
    _, recs = _records(os.path.join(path, "events.bin"), b"EVNT")
    for p in recs:
        step, seq, index, n = struct.unpack_from("<IIII", p, 0)
        body = json.loads(p[16 : 16 + n].decode("utf-8"))
        e = {"id": decls[index]["id"], "step": step, "text": body["text"]}
        if "payload" in body:
            e["payload"] = body["payload"]
        out["events"].append(e)
    counts = meta.get("counts")
    if counts is not None:
        got = {"steps": len(out["scalars"]), "evals": len(out["evals"]), "identity": len(out["identity"]), "attention": len(out["attention"]), "measures": len({m["step"] for m in out["measures"]}), "events": len(out["events"])}
        for k, v in got.items():
            if k in counts and counts[k] != v:
                raise RunFormatError(f"{path}: meta.json counts {counts[k]} {k}, the files hold {v}")
    return out
