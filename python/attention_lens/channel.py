"""Transport 1: the channel to the extension that launched this process.

The extension starts Python with the protocol on file descriptor 3 (a bidirectional pipe;
stdout and stderr stay the script's own and go to the run's log) and names it in the
environment (ATTENTION_LENS_FD). The messages and the handshake are the built-in trainer's
(src/protocol/messages.ts, src/trainer-process/serve.ts): this side greets with trainerReady
and its protocol version, the host answers startRun, and init() answers runStarted. Frames
are frames.py's.

Steps are sent as they are recorded; steps that come less than COALESCE seconds after the last
write are held and sent together as one stepsCompleted within COALESCE (by a background
thread), so a fast loop costs the host one message every few ms rather than one per step, and
a process killed at any instant loses at most its last COALESCE seconds of steps. Every other
message first sends the steps before it. Commands arrive on a reader thread and become
Control requests, acted on at the next step boundary.
"""

import os
import sys
import threading
import time

from . import frames
from .control import Control, valid_pace

PROTOCOL_VERSION = 1
ENV_FD = "ATTENTION_LENS_FD"
COALESCE = 0.002
MAX_STEPS_PER_MESSAGE = 4096

_current = None


def current():
    """The channel to the extension, when this process was launched by it (else None)."""
    return _current


def log(text):
    print(f"attention_lens: {text}", file=sys.stderr, flush=True)


class Channel:
    def __init__(self, fd):
        self.fd = fd
        self.control = Control()
        self.start = None
        self._started = threading.Event()
        self._wlock = threading.Lock()
        self._steps = []
        self._last_write = 0.0
        self._wake = threading.Condition()
        self.alive = True
        self.closed = False
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        os.set_inheritable(fd, False)  # a subprocess the script starts does not hold the channel open
        self._reader = threading.Thread(target=self._read_loop, name="attention-lens-channel-reader", daemon=True)
        self._flusher = threading.Thread(target=self._flush_loop, name="attention-lens-channel-flusher", daemon=True)
        self._reader.start()
        self._flusher.start()

    # ─── writing ──────────────────────────────────────────────────────────────────

    def _write(self, data):
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as e:
            if self.alive:
                self.alive = False
                log(f"the channel to the extension broke ({e}); the run stops at the next step")
                self.control.stop("the extension went away")
            return
        self._last_write = time.monotonic()

    def _flush_locked(self):
        while self._steps:
            batch = self._steps[:MAX_STEPS_PER_MESSAGE]
            del self._steps[: len(batch)]
            msg = {"type": "stepCompleted", "data": batch[0]} if len(batch) == 1 else {"type": "stepsCompleted", "data": batch}
            self._write(frames.encode(msg))

    def send(self, msg):
        """Sends `msg` after every step queued before it."""
        with self._wlock:
            if self.closed:
                return
            self._flush_locked()
            self._write(frames.encode(msg))

    def queue_step(self, data):
        with self._wlock:
            if self.closed:
                return
            self._steps.append(data)
            if time.monotonic() - self._last_write >= COALESCE or len(self._steps) >= 256:
                self._flush_locked()
                return
        with self._wake:
            self._wake.notify()

    def flush(self):
        with self._wlock:
            self._flush_locked()

    def _flush_loop(self):
        while True:
            with self._wake:
                while not self._steps and not self.closed:
                    self._wake.wait()
            if self.closed:
                return
            delay = self._last_write + COALESCE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.flush()

    def close(self):
        """Sends what is queued and stops writing (the process is about to exit)."""
        with self._wlock:
            self._flush_locked()
            self.closed = True
        with self._wake:
            self._wake.notify_all()

    # ─── reading ──────────────────────────────────────────────────────────────────

    def hello(self):
        self.send({"type": "trainerReady", "protocolVersion": PROTOCOL_VERSION, "pid": os.getpid()})

    def wait_start(self, timeout):
        """The host's startRun (a dict), or None when it did not come within `timeout` seconds."""
        self._started.wait(timeout)
        return self.start

    def _read_loop(self):
        reader = frames.FrameReader()
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError as e:
                data = b""
                log(f"cannot read the channel: {e}")
            if not data:
                self.alive = False
                self.control.stop("the extension went away")
                self._started.set()
                return
            try:
                messages = reader.feed(data)
            except frames.FrameError as e:
                log(f"the channel from the extension is damaged ({e}); the run stops at the next step")
                self.control.stop("the channel from the extension is damaged")
                return
            for m in messages:
                try:
                    self._on_message(m)
                except Exception as e:  # a bad command is logged, never fatal
                    log(f"ignored a command: {e}")

    def _on_message(self, m):
        t = m.get("type") if isinstance(m, dict) else None
        c = self.control
        if t == "startRun":
            if self.start is not None:
                log("ignored a second startRun: this process trains one run")
                return
            if not isinstance(m.get("protocolVersion"), int) or not isinstance(m.get("startPaused"), bool):
                log("ignored an invalid startRun")
                return
            pace = m.get("pace")
            if pace is not None and valid_pace(pace):
                c.set_pace(pace)
            if m["startPaused"]:
                c.pause("started paused")
            self.start = m
            self._started.set()
        elif t == "pause":
            c.pause("paused on request")
        elif t == "resume":
            c.resume()
        elif t == "step":
            c.step()
        elif t == "stop":
            c.stop()
        elif t == "setPace":
            if valid_pace(m.get("pace")):
                c.set_pace(m["pace"])
            else:
                log("ignored an invalid setPace")
        else:
            log(f"ignored an invalid message: {t!r}")


def connect_from_env():
    """Opens the channel named by ATTENTION_LENS_FD (once per process) and greets the host."""
    global _current
    if _current is not None:
        return _current
    raw = os.environ.pop(ENV_FD, None)
    if raw is None:
        return None
    _current = Channel(int(raw))
    _current.hello()
    return _current
