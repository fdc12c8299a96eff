#!/usr/bin/env python3
"""Read an Attention Lens run folder with nothing but the Python standard library.

The format is described byte by byte in docs/run-format.md. As a command:

    python3 scripts/read_run.py RUN_DIR                 # scalars as CSV, one row per step
    python3 scripts/read_run.py RUN_DIR --evals         # evaluations as CSV
    python3 scripts/read_run.py RUN_DIR --identity      # Lu identity rows as CSV
    python3 scripts/read_run.py RUN_DIR --attention STEP  # the attention frame at STEP as JSON

As a library (e.g. `sys.path.insert(0, 'scripts'); import read_run`): read_meta, read_scalars,
read_evals, read_identity, attention_index, read_attention. A torn or corrupt tail is reported
on stderr and every record before it is returned, as the TypeScript reader does.
"""
import csv
import json
import os
import struct
import sys
import zlib

MAGIC = b"ALRS"
HEADER = struct.Struct("<4s4sHHI")  # magic, kind, version, width, crc32 of the first 12 bytes
FORMAT_VERSION = 1
STAGES = ["weights", "logits", "premix", "mixed"]


class RunFormatError(Exception):
    pass


def warn(msg):
    print(f"read_run: {msg}", file=sys.stderr)


def read_meta(run_dir):
    with open(os.path.join(run_dir, "meta.json"), encoding="utf-8") as f:
        return json.load(f)


def read_config(run_dir):
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def records(path, kind):
    """(width, [(offset, payload bytes), ...]) for every complete, checksummed record of a stream file.

    A missing file has no records. Reading stops at the first torn or corrupt record (reported)."""
    if not os.path.exists(path):
        return 0, []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER.size:
        warn(f"{path}: torn at 0: file ends inside its header")
        return 0, []
    magic, k, version, width, hcrc = HEADER.unpack_from(data, 0)
    if magic != MAGIC or hcrc != zlib.crc32(data[:12]) or k != kind.encode() or version != FORMAT_VERSION:
        raise RunFormatError(f"{path}: not a {kind} stream of format version {FORMAT_VERSION}")
    out = []
    off = HEADER.size
    while off < len(data):
        if off + 4 > len(data):
            warn(f"{path}: torn at {off}: file ends inside a record's length field")
            break
        (n,) = struct.unpack_from("<I", data, off)
        if off + 8 + n > len(data):
            warn(f"{path}: torn at {off}: file ends inside a record")
            break
        (crc,) = struct.unpack_from("<I", data, off + 4 + n)
        if crc != zlib.crc32(data[off : off + 4 + n]):  # the CRC covers the length field and the payload
            warn(f"{path}: corrupt at {off}: record checksum mismatch")
            break
        out.append((off, data[off + 4 : off + 4 + n]))
        off += 8 + n
    return width, out


def read_scalars(run_dir):
    """(groups, rows): rows are (step, loss, train_accuracy, step_ms, [grad norms], [weight norms])."""
    g, recs = records(os.path.join(run_dir, "scalars.bin"), "SCAL")
    row = struct.Struct(f"<Idff{2 * g}f")  # 20 + 8G bytes
    rows = []
    for _, p in recs:
        if len(p) != row.size:
            warn(f"scalars.bin: a record of {len(p)} bytes, expected {row.size}; stopping")
            break
        v = row.unpack(p)
        rows.append((v[0], v[1], v[2], v[3], list(v[4 : 4 + g]), list(v[4 + g :])))
    return g, rows


def read_evals(run_dir):
    """A list of dicts: step, validation_loss, validation_accuracy, test_loss, test_accuracy, topic_attention (None if absent)."""
    _, recs = records(os.path.join(run_dir, "evals.bin"), "EVAL")
    out = []
    for _, p in recs:
        step, flags, vl, va, tl, ta, topic = struct.unpack("<II5d", p)
        out.append(dict(step=step, validation_loss=vl, validation_accuracy=va, test_loss=tl, test_accuracy=ta, topic_attention=topic if flags & 1 else None))
    return out


def read_identity(run_dir):
    """(k, rows): rows are (step, score[k], measured[k], theory[k], rel_error[k])."""
    k, recs = records(os.path.join(run_dir, "identity.bin"), "IDEN")
    row = struct.Struct(f"<I{4 * k}f")
    rows = []
    for _, p in recs:
        v = row.unpack(p)
        rows.append((v[0],) + tuple(list(v[1 + c * k : 1 + (c + 1) * k]) for c in range(4)))
    return k, rows


def attention_index(run_dir):
    """[(step, payload_bytes, offset in attention.bin)] from attention.idx."""
    _, recs = records(os.path.join(run_dir, "attention.idx"), "AIDX")
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


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = [a for a in argv if a.startswith("--")]
    if not args or flags and flags[0] not in ("--evals", "--identity", "--attention"):
        print(__doc__, file=sys.stderr)
        return 2
    run_dir = args[0]
    out = csv.writer(sys.stdout, lineterminator="\n")
    try:
        if "--attention" in flags:
            json.dump(read_attention(run_dir, int(args[1])), sys.stdout)
            print()
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
