"""The frame codec of the channel between the extension host and this helper.

The channel is a byte stream (a pipe the extension opens as the helper's file descriptor 3)
carrying the protocol's messages (src/protocol/messages.ts) as frames. A frame is JSON plus
the raw bytes of the typed arrays the protocol requires (Float64Array, Float32Array), so the
host gets them as typed arrays with no number-by-number conversion. The TypeScript decoder is
src/protocol/frames.ts; both sides follow this layout (all integers little-endian):

    offset  size  field
    0       4     magic b"ALF1"
    4       4     u32 J, the JSON text's length in bytes
    8       4     u32 B, the binary section's length in bytes (a multiple of 8)
    12      J     the message as UTF-8 JSON
    12 + J  pad   zero bytes up to a multiple of 8 (P = 12 + J rounded up)
    P       B     the binary section: each array's bytes, little-endian, each starting at a
                  multiple of 8 within the section

In the JSON, a typed array is the object {"$f64": [offset, count]} or {"$f32": [offset,
count]} (offset in bytes within the binary section, count in elements), and a number JSON
cannot write is {"$num": "NaN"}, {"$num": "Infinity"} or {"$num": "-Infinity"}. Any other
object key that starts with "$" is written with one more "$" in front ("$id" -> "$$id"),
so a user's own keys can never be taken for a placeholder.
"""

import array
import ctypes
import json
import math
import struct
import sys

MAGIC = b"ALF1"
HEAD = struct.Struct("<4sII")
#: Frames larger than this are refused (a length field that says more is damage, not data).
MAX_FRAME_BYTES = 512 * 1024 * 1024
_LITTLE = sys.byteorder == "little"


class FrameError(ValueError):
    """Bytes on the channel that are not a valid frame."""


class TypedArray:
    """Bytes of a little-endian float array: `kind` "f64" or "f32", `count` elements."""

    __slots__ = ("kind", "data", "count")

    def __init__(self, kind, data, count):
        self.kind = kind
        self.data = data
        self.count = count

    def tolist(self):
        fmt = "d" if self.kind == "f64" else "f"
        a = array.array(fmt)
        a.frombytes(bytes(self.data))
        if not _LITTLE:
            a.byteswap()
        return a.tolist()

    def __eq__(self, other):
        return isinstance(other, TypedArray) and other.kind == self.kind and bytes(other.data) == bytes(self.data)

    def __repr__(self):
        return f"TypedArray({self.kind}, {self.tolist()!r})"


def _from_floats(kind, values):
    a = array.array("d" if kind == "f64" else "f", values)
    if not _LITTLE:
        a.byteswap()
    return TypedArray(kind, a.tobytes(), len(a))


def f64(values):
    """A Float64Array of `values` (any iterable of numbers)."""
    return _from_floats("f64", values)


def f32(values):
    """A Float32Array of `values` (any iterable of numbers)."""
    return _from_floats("f32", values)


def tensor_bytes(t):
    """The raw bytes of a CPU tensor (made contiguous), without NumPy."""
    t = t.contiguous()
    n = t.numel() * t.element_size()
    if n == 0:
        return b""
    return ctypes.string_at(t.data_ptr(), n)


def f32_tensor(t):
    """A Float32Array of a tensor's values (any device, any float dtype), row-major."""
    import torch

    t = t.detach().to(device="cpu", dtype=torch.float32).contiguous()
    data = tensor_bytes(t)
    if not _LITTLE:
        a = array.array("f")
        a.frombytes(data)
        a.byteswap()
        data = a.tobytes()
    return TypedArray("f32", data, t.numel())


def _number(x):
    if math.isfinite(x):
        return x
    return {"$num": "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")}


def _prepare(v, parts, size):
    """`v` as JSON data with placeholders; appends array bytes to `parts`; returns (json, size)."""
    if v is None or isinstance(v, (bool, str)):
        return v, size
    if isinstance(v, int):
        return v, size
    if isinstance(v, float):
        return _number(v), size
    if isinstance(v, TypedArray):
        off = size
        parts.append(v.data)
        n = len(v.data)
        pad = (-n) % 8
        if pad:
            parts.append(b"\0" * pad)
        return {"$" + v.kind: [off, v.count]}, size + n + pad
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise TypeError(f"frame: object keys must be strings, not {type(k).__name__}")
            out["$" + k if k.startswith("$") else k], size = _prepare(x, parts, size)
        return out, size
    if isinstance(v, (list, tuple)):
        out = []
        for x in v:
            j, size = _prepare(x, parts, size)
            out.append(j)
        return out, size
    # Numbers of other kinds (NumPy scalars, 0-d tensors, Fractions).
    if hasattr(v, "item") and callable(v.item):
        return _prepare(v.item(), parts, size)
    try:
        return _number(float(v)), size
    except (TypeError, ValueError):
        raise TypeError(f"frame: cannot send a {type(v).__name__}") from None


def encode(msg):
    """One frame holding `msg` (dicts, lists, str, numbers, bool, None, TypedArray)."""
    parts = []
    doc, size = _prepare(msg, parts, 0)
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    head = HEAD.pack(MAGIC, len(text), size)
    pad = (-(HEAD.size + len(text))) % 8
    return b"".join([head, text, b"\0" * pad] + parts)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _revive(v, binary):
    if isinstance(v, list):
        return [_revive(x, binary) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        (k, x), = v.items()
        if k in ("$f64", "$f32"):
            if not (isinstance(x, list) and len(x) == 2 and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in x)):
                raise FrameError(f"bad {k} placeholder")
            off, count = x
            width = 8 if k == "$f64" else 4
            if off % 8 or off + count * width > len(binary):
                raise FrameError(f"{k} placeholder [{off}, {count}] outside the binary section of {len(binary)} bytes")
            return TypedArray(k[1:], bytes(binary[off : off + count * width]), count)
        if k == "$num":
            if x not in ("NaN", "Infinity", "-Infinity"):
                raise FrameError("bad $num placeholder")
            return float(x.lower().replace("infinity", "inf"))
    out = {}
    for k, x in v.items():
        if k.startswith("$"):
            if not k.startswith("$$"):
                raise FrameError(f"unknown placeholder key {k!r}")
            k = k[1:]
        out[k] = _revive(x, binary)
    return out


class FrameReader:
    """Splits a byte stream into messages: feed() bytes as they come, get whole messages back."""

    def __init__(self, max_frame_bytes=MAX_FRAME_BYTES):
        self._buf = bytearray()
        self._max = max_frame_bytes

    def feed(self, data):
        self._buf += data
        out = []
        while True:
            if len(self._buf) < HEAD.size:
                return out
            magic, j, b = HEAD.unpack_from(self._buf, 0)
            if magic != MAGIC:
                raise FrameError("not a frame (bad magic)")
            if b % 8:
                raise FrameError(f"binary section of {b} bytes is not a multiple of 8")
            p = HEAD.size + j + ((-(HEAD.size + j)) % 8)
            if p + b > self._max:
                raise FrameError(f"a frame of {p + b} bytes is larger than {self._max}")
            if len(self._buf) < p + b:
                return out
            try:
                doc = json.loads(bytes(self._buf[HEAD.size : HEAD.size + j]).decode("utf-8"), parse_constant=_no_constant)
            except (UnicodeDecodeError, ValueError) as e:
                raise FrameError(f"frame JSON is not valid: {e}") from None
            out.append(_revive(doc, memoryview(bytes(self._buf[p : p + b]))))
            del self._buf[: p + b]
