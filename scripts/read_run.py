#!/usr/bin/env python3
"""Read an Attention Lens run folder with nothing but the Python standard library.

The format is described byte by byte in docs/run-format.md (format versions 1 and 2). As a command:

    python3 scripts/read_run.py RUN_DIR                 # scalars as CSV, one row per step
    python3 scripts/read_run.py RUN_DIR --evals         # evaluations as CSV
    python3 scripts/read_run.py RUN_DIR --identity      # Lu identity rows as CSV
    python3 scripts/read_run.py RUN_DIR --measures      # measurement samples as JSON lines {id, step, values}
    python3 scripts/read_run.py RUN_DIR --events        # measurement events as JSON lines {id, step, text, payload}
    python3 scripts/read_run.py RUN_DIR --attention STEP  # the attention frame at STEP as JSON

As a library (e.g. `sys.path.insert(0, 'scripts'); import read_run`): read_meta, read_scalars,
read_evals, read_identity, read_measures, read_events, attention_index, read_attention. Damage
is reported on stderr and never hides what is intact, as in the TypeScript reader: a torn tail
is reported and every record before it returned; a damaged record in the middle (bad length or
checksum, a repeated or out-of-order step) is skipped, and reading goes on at the next record
that checks. Files are mapped (mmap), not read whole, so any size reads in little memory.
"""
import csv
import json
import math
import mmap
import os
import struct
import sys
import zlib

MAGIC = b"ALRS"
HEADER = struct.Struct("<4s4sHHI")  # magic, kind, version, width, crc32 of the first 12 bytes
FORMAT_VERSIONS = (1, 2)
STAGES = ["weights", "logits", "premix", "mixed"]
MAX_PAYLOAD = 1 << 30


class RunFormatError(Exception):
    pass


def warn(msg):
    print(f"read_run: {msg}", file=sys.stderr)


# ─── meta.json and its checksum ──────────────────────────────────────────────────────


def _js_number(x):
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
    mant, _, exp = repr(abs(x)).partition("e")  # the shortest digits that round-trip, as JavaScript's
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
    es = ("+" if e >= 0 else "-") + str(abs(e))
    return sign + (digits if k == 1 else digits[0] + "." + digits[1:]) + "e" + es


def _js_json(v):
    """JSON text as JavaScript's JSON.stringify(v) writes it: no whitespace, members in order."""
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return _js_number(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(_js_json(x) for x in v) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _js_json(x) for k, x in v.items()) + "}"


def meta_checksum(doc):
    """The checksum meta.json carries: crc32 (8 hex digits) of the canonical JSON of the document without `checksum`."""
    rest = {k: v for k, v in doc.items() if k != "checksum"}
    return "%08x" % zlib.crc32(_js_json(rest).encode("utf-8", "surrogatepass"))


def read_meta(run_dir):
    """meta.json as a dict. A checksum mismatch is reported (and its counts dropped); version-1 metas have no checksum."""
    path = os.path.join(run_dir, "meta.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, dict) and "checksum" in doc and doc["checksum"] != meta_checksum(doc):
        warn(f"{path}: corrupt: meta.json's checksum does not match its contents; its record counts are not used")
        doc.pop("counts", None)
    return doc


def read_config(run_dir):
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


# ─── streams ─────────────────────────────────────────────────────────────────────────


class _Empty:
    def __len__(self):
        return 0


def _map(path):
    """The file's bytes, mapped (or an empty object for an empty file)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return _Empty()
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def records(path, kind, fixed=None, min_payload=0, key=None, fallback_width=0):
    """(width, version, [(offset, payload bytes), ...]) for every complete, checksummed record of a stream file.

    `fixed(width)`: the payload size of every record (fixed-size streams); else records are at
    least `min_payload` bytes. Damage is reported on stderr and skipped; a missing file has no
    records. `key(payload)` strictly increases along the stream (default: the step). A damaged
    header is reported and reading goes on with `fallback_width` (None: it cannot, and
    RunFormatError is raised)."""
    if not os.path.exists(path):
        return 0, 0, []
    try:
        data = _map(path)
    except OSError as e:
        warn(f"{path}: unreadable: {e}")
        return 0, 0, []
    size = len(data)
    if size < HEADER.size:
        warn(f"{path}: torn at 0: file ends inside its header")
        return 0, 0, []
    magic, k, version, width, hcrc = HEADER.unpack_from(data, 0)
    gap = None  # (start, why, torn, step before)
    if magic != MAGIC or hcrc != zlib.crc32(data[:12]) or k != kind.encode() or version not in FORMAT_VERSIONS:
        if fallback_width is None:
            raise RunFormatError(f"{path}: not a {kind} stream of format version {FORMAT_VERSIONS}")
        width, version = fallback_width, FORMAT_VERSIONS[-1]
        gap = (0, f"the header is not a valid {kind} header (records read on)", False, None)
    n_fixed = fixed(width) if fixed else None

    def plausible(n):
        return n == n_fixed if n_fixed is not None else n >= min_payload and n % 4 == 0 and n <= MAX_PAYLOAD

    out, off, last, last_key = [], HEADER.size, None, None

    def close_gap(end, step_after):
        start, why, torn, before = gap
        if step_after is None and torn:
            warn(f"{path}: torn at {start}: {why}")
        else:
            around = f"after step {before}" if before is not None else "before any record"
            if step_after is not None:
                around += f" and before step {step_after}"
            warn(f"{path}: corrupt at {start}: {why}: bytes {start}-{end} skipped (records {around} lost)")

    while off < size:
        if gap is not None and n_fixed is not None:
            # Scan for the next offset holding this stream's record length.
            at = data.find(struct.pack("<I", n_fixed), off)
            off = size if at < 0 else at
            if off >= size:
                break
        if off + 4 > size:
            if gap is None:
                warn(f"{path}: torn at {off}: file ends inside a record's length field")
            break
        (n,) = struct.unpack_from("<I", data, off)
        if plausible(n):
            if off + 8 + n > size:
                if gap is None:
                    gap = (off, "file ends inside a record", True, last)
                off += 1
                continue
            (crc,) = struct.unpack_from("<I", data, off + 4 + n)
            if crc == zlib.crc32(data[off : off + 4 + n]):  # the CRC covers the length field and the payload
                payload = bytes(data[off + 4 : off + 4 + n])
                (step,) = struct.unpack_from("<I", payload, 0)
                k = key(payload) if key else step
                if gap is not None:
                    close_gap(off, step)
                    gap = None
                if last_key is not None and k <= last_key:
                    warn(f"{path}: corrupt at {off}: " + (f"the record of step {step} is repeated; the repeat was skipped" if k == last_key else f"a record of step {step} after step {last}; it was skipped"))
                else:
                    out.append((off, payload))
                    last, last_key = step, k
                off += 8 + n
                continue
            why = "record checksum mismatch"
        else:
            why = f"record length {n}" + (f", this stream's records have {n_fixed} bytes" if n_fixed is not None else " is not a valid record's")
        if gap is None:
            gap = (off, why, False, last)
        off += 1
    if gap is not None:
        close_gap(size, None)
    return width, version, out


def _info_width(run_dir, key):
    try:
        names = read_meta(run_dir).get("info", {}).get(key)
    except (OSError, ValueError):
        names = None
    return len(names) if isinstance(names, list) else None


def read_scalars(run_dir):
    """(groups, rows): rows are (step, loss, train_accuracy, step_ms, [grad norms], [weight norms])."""
    g, _, recs = records(os.path.join(run_dir, "scalars.bin"), "SCAL", fixed=lambda w: 20 + 8 * w, fallback_width=_info_width(run_dir, "groups"))
    row = struct.Struct(f"<Idff{2 * g}f")  # 20 + 8G bytes
    rows = []
    for _, p in recs:
        v = row.unpack(p)
        rows.append((v[0], v[1], v[2], v[3], list(v[4 : 4 + g]), list(v[4 + g :])))
    return g, rows


def read_evals(run_dir):
    """A list of dicts: step, validation_loss, validation_accuracy, test_loss, test_accuracy, topic_attention (None if absent)."""
    _, _, recs = records(os.path.join(run_dir, "evals.bin"), "EVAL", fixed=lambda w: 48)
    out = []
    for _, p in recs:
        step, flags, vl, va, tl, ta, topic = struct.unpack("<II5d", p)
        out.append(dict(step=step, validation_loss=vl, validation_accuracy=va, test_loss=tl, test_accuracy=ta, topic_attention=topic if flags & 1 else None))
    return out


def read_identity(run_dir):
    """(k, rows): rows are (step, score[k], measured[k], theory[k], rel_error[k])."""
    k, _, recs = records(os.path.join(run_dir, "identity.bin"), "IDEN", fixed=lambda w: 4 + 16 * w, fallback_width=_info_width(run_dir, "topicWords"))
    row = struct.Struct(f"<I{4 * k}f")
    rows = []
    for _, p in recs:
        v = row.unpack(p)
        rows.append((v[0],) + tuple(list(v[1 + c * k : 1 + (c + 1) * k]) for c in range(4)))
    return k, rows


def _declarations(run_dir):
    try:
        m = read_meta(run_dir).get("info", {}).get("measures")
    except (OSError, ValueError):
        m = None
    return m if isinstance(m, list) else []


def _width(d):
    if d.get("kind") == "series":
        return 1
    if d.get("kind") == "groups":
        return len(d.get("groups") or [])
    if d.get("kind") == "matrix":
        return len(d.get("rows") or []) * len(d.get("cols") or [])
    return 0


def read_measures(run_dir):
    """Every stored measurement sample (format version 2), in step order: [dict(id, step, values)].

    A sample's measurement is its index in meta.json's info.measures; one that does not fit the declarations is reported and skipped."""
    decls = _declarations(run_dir)
    path = os.path.join(run_dir, "measures.bin")
    _, _, recs = records(path, "MEAS", min_payload=8)
    out = []
    for off, p in recs:
        step, count = struct.unpack_from("<II", p, 0)
        o = 8
        for _ in range(count):
            if o + 8 > len(p):
                warn(f"{path}: invalid at {off}: a sample runs past the record")
                break
            index, n = struct.unpack_from("<II", p, o)
            o += 8
            if o + 8 * n > len(p):
                warn(f"{path}: invalid at {off}: a sample runs past the record")
                break
            values = list(struct.unpack_from(f"<{n}d", p, o))
            o += 8 * n
            d = decls[index] if index < len(decls) else None
            if d is None or d.get("kind") == "event" or _width(d) != n:
                warn(f"{path}: invalid at {off}: a sample at step {step} does not fit info.measures (index {index}, {n} values)")
                continue
            out.append(dict(id=d["id"], step=step, values=values))
    return out


def read_events(run_dir):
    """Every stored measurement event (format version 2), in step order: [dict(id, step, text, payload)] (payload None when absent)."""
    decls = _declarations(run_dir)
    path = os.path.join(run_dir, "events.bin")
    _, _, recs = records(path, "EVNT", min_payload=16, key=lambda p: struct.unpack_from("<II", p, 0))
    out = []
    for off, p in recs:
        step, _seq, index, n = struct.unpack_from("<IIII", p, 0)
        d = decls[index] if index < len(decls) else None
        try:
            body = json.loads(p[16 : 16 + n].decode("utf-8"))
        except ValueError:
            warn(f"{path}: invalid at {off}: unreadable event JSON")
            continue
        if d is None or d.get("kind") != "event" or not isinstance(body, dict) or not isinstance(body.get("text"), str):
            warn(f"{path}: invalid at {off}: an event at step {step} does not fit info.measures (index {index})")
            continue
        out.append(dict(id=d["id"], step=step, text=body["text"], payload=body.get("payload")))
    return out


def attention_index(run_dir):
    """[(step, payload_bytes, offset in attention.bin)] from attention.idx."""
    _, _, recs = records(os.path.join(run_dir, "attention.idx"), "AIDX", fixed=lambda w: 16)
    return [struct.unpack("<IIQ", p) for _, p in recs]


def read_attention(run_dir, step):
    """The attention frame captured at `step` or the latest before it, as {step, probes: [[map]]}; None if none.

    One seek and one read: the index gives the frame's offset and length."""
    entries = [e for e in attention_index(run_dir) if e[0] <= step]
    if not entries:
        return None
    s, n, off = entries[-1]
    with open(os.path.join(run_dir, "attention.bin"), "rb") as f:
        f.seek(off)
        rec = f.read(n + 8)
    if len(rec) < n + 8 or struct.unpack_from("<I", rec, 0)[0] != n or struct.unpack_from("<I", rec, 4 + n)[0] != zlib.crc32(rec[: 4 + n]):
        raise RunFormatError(f"attention.bin: the frame of step {s} at {off} is torn or corrupt")
    o = 4
    fstep, n_probes = struct.unpack_from("<II", rec, o)
    o += 8
    probes = []
    for _ in range(n_probes):
        (n_maps,) = struct.unpack_from("<I", rec, o)
        o += 4
        maps = []
        for _ in range(n_maps):
            layer, head, stage, rows, cols = struct.unpack_from("<5I", rec, o)
            o += 20
            data = list(struct.unpack_from(f"<{rows * cols}f", rec, o))
            o += 4 * rows * cols
            maps.append(dict(layer=layer, head=head, stage=STAGES[stage], rows=rows, cols=cols, data=data))
        probes.append(maps)
    return dict(step=fstep, probes=probes)


def group_names(run_dir, g):
    try:
        names = read_meta(run_dir).get("info", {}).get("groups")
    except (OSError, ValueError):
        names = None
    return names if isinstance(names, list) and len(names) == g else [f"g{i}" for i in range(g)]


STREAM_FILES = ("scalars.bin", "evals.bin", "identity.bin", "attention.bin", "attention.idx", "measures.bin", "events.bin")


def check_folder(run_dir):
    """Reports a run that ended while it was starting (no meta.json, no stream file) or that failed, with its reason."""
    if not os.path.isdir(run_dir):
        return
    names = os.listdir(run_dir)
    if "meta.json" not in names and not any(n in names for n in STREAM_FILES):
        warn(f"{run_dir}: an empty run folder: meta.json was never written (the run ended while it was starting); it holds no records")
        return
    try:
        with open(os.path.join(run_dir, "meta.json"), encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return  # read_meta and the streams report it
    if isinstance(doc, dict) and doc.get("status") == "failed" and doc.get("statusReason"):
        warn(f"{run_dir}: the run failed: {doc['statusReason']}")


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = [a for a in argv if a.startswith("--")]
    if not args or flags and flags[0] not in ("--evals", "--identity", "--attention", "--measures", "--events"):
        print(__doc__, file=sys.stderr)
        return 2
    run_dir = args[0]
    out = csv.writer(sys.stdout, lineterminator="\n")
    check_folder(run_dir)
    try:
        if "--attention" in flags:
            json.dump(read_attention(run_dir, int(args[1])), sys.stdout)
            print()
        elif "--measures" in flags:
            for m in read_measures(run_dir):
                print(json.dumps(m))
        elif "--events" in flags:
            for e in read_events(run_dir):
                print(json.dumps(e, ensure_ascii=False))
        elif "--evals" in flags:
            out.writerow(["step", "validation_loss", "validation_accuracy", "test_loss", "test_accuracy", "topic_attention"])
            for e in read_evals(run_dir):
                out.writerow([e["step"], repr(e["validation_loss"]), repr(e["validation_accuracy"]), repr(e["test_loss"]), repr(e["test_accuracy"]), "" if e["topic_attention"] is None else repr(e["topic_attention"])])
        elif "--identity" in flags:
            k, rows = read_identity(run_dir)
            out.writerow(["step"] + [f"{c}_{i}" for c in ("score", "measured", "theory", "rel_error") for i in range(k)])
            for r in rows:
                out.writerow([r[0]] + [repr(x) for c in r[1:] for x in c])
        else:
            g, rows = read_scalars(run_dir)
            names = group_names(run_dir, g)
            out.writerow(["step", "loss", "train_accuracy", "step_ms"] + [f"grad_norm_{n}" for n in names] + [f"weight_norm_{n}" for n in names])
            # repr() prints the shortest text that reads back as the same double.
            for step, loss, acc, ms, grad, weight in rows:
                out.writerow([step, repr(loss), repr(acc), repr(ms)] + [repr(x) for x in grad] + [repr(x) for x in weight])
    except (OSError, RunFormatError) as e:
        warn(str(e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
