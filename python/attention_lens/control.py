"""What the training loop is asked to do (pause, single steps, stop, a pace), from any transport.

`Control` holds the requests; the channel's reader thread or the control-file poller set
them, and Run.step() acts on them at the step boundary (the only place a run pauses or stops:
never in the middle of a step). The rules are the built-in TrainingLoop's: a pause while
paused, a resume while running and a single step while running are ignored.

The control file (transport 2: a run the extension did not launch) is `control.json` in the
run folder, replaced atomically by whoever controls the run (the extension:
src/runs/controlFile.ts; or `write_control` below):

    {"format": "attention-lens-control", "version": 1, "seq": 7,
     "command": "pause" | "resume" | "step" | "stop" | "pace",
     "steps": 3, "pace": {"stepsPerSecond": 10, "holdMs": 400}}

`seq` increases with every write and `command` is that write's command; a trainer applies a
file once per new seq. `steps` counts every single step asked for since the file was made (a
"step" that raises it by k trains k steps, then the run stays paused: several steps written
between two reads are not lost), and `pace` is the pace to train at (absent: as fast as it
can). A reader that missed writes acts on the last one, which is what the controller wants
last. The trainer reads the file (it never relies on file-watch events or cached attributes,
which network filesystems get wrong) at most every POLL_RUNNING seconds at step boundaries
and every POLL_PAUSED seconds while paused, and reports what it does in meta.json: status
"paused" with its statusReason, or "running" again.
"""

import json
import os
import threading
import time

CONTROL_FILE = "control.json"
CONTROL_FORMAT = "attention-lens-control"
POLL_RUNNING = 0.05
POLL_PAUSED = 0.05


class Control:
    def __init__(self):
        self.cond = threading.Condition()
        self.paused = False
        self.pause_reason = None
        self.pending_steps = 0
        self.stop_requested = False
        self.stop_reason = None
        self.pace = {}
        self.pace_version = 0
        #: Bumped by every change (waiters compare it).
        self.version = 0

    def _changed(self):
        self.version += 1
        self.cond.notify_all()

    def pause(self, reason="paused on request"):
        with self.cond:
            if self.paused or self.stop_requested:
                return
            self.paused = True
            self.pause_reason = reason
            self._changed()

    def resume(self):
        with self.cond:
            if not self.paused:
                return
            self.paused = False
            self.pause_reason = None
            self.pending_steps = 0
            self._changed()

    def step(self, n=1):
        with self.cond:
            if not self.paused or n <= 0:
                return
            self.pending_steps += n
            self._changed()

    def stop(self, reason=None):
        with self.cond:
            if self.stop_requested:
                return
            self.stop_requested = True
            self.stop_reason = reason
            self._changed()

    def set_pace(self, pace):
        with self.cond:
            self.pace = dict(pace or {})
            self.pace_version += 1
            self._changed()

    def wait(self, timeout, since):
        """Waits until something changed after `since` (a version) or `timeout` seconds passed."""
        with self.cond:
            if self.version == since:
                self.cond.wait(timeout)
            return self.version


def valid_pace(p):
    if not isinstance(p, dict):
        return False
    r = p.get("stepsPerSecond")
    h = p.get("holdMs")
    ok_r = r is None or (isinstance(r, (int, float)) and not isinstance(r, bool) and 0 < r <= 1e6)
    ok_h = h is None or (isinstance(h, (int, float)) and not isinstance(h, bool) and 0 <= h <= 60000)
    return ok_r and ok_h


class ControlFile:
    """Polls a run folder's control.json and turns each new version into Control requests."""

    def __init__(self, run_dir, control):
        self.path = os.path.join(run_dir, CONTROL_FILE)
        self.control = control
        self.seq = 0
        self.steps = 0
        self._last_poll = 0.0
        self.problem = None

    def poll(self, interval=POLL_RUNNING):
        """Reads the file when `interval` seconds have passed since the last read; applies a new write."""
        now = time.monotonic()
        if now - self._last_poll < interval:
            return
        self._last_poll = now
        try:
            with open(self.path, "rb") as f:
                raw = f.read(65536)
        except FileNotFoundError:
            return
        except OSError as e:
            self._report(f"cannot read {self.path}: {e}")
            return
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return  # a writer that did not replace the file atomically: the next read sees it whole
        if not isinstance(doc, dict) or doc.get("format") != CONTROL_FORMAT:
            self._report(f"{self.path} is not a control file")
            return
        seq = doc.get("seq")
        if not isinstance(seq, int) or seq <= self.seq:
            return
        self.seq = seq
        c = self.control
        pace = doc.get("pace", {})
        if valid_pace(pace) and pace != c.pace:
            c.set_pace(pace)
        steps = doc.get("steps", 0)
        more = steps - self.steps if isinstance(steps, int) and steps > self.steps else 0
        if isinstance(steps, int):
            self.steps = max(self.steps, steps)
        command = doc.get("command")
        if command == "stop":
            c.stop()
        elif command == "pause":
            c.pause("paused on request")
        elif command == "resume":
            c.resume()
        elif command == "step":
            c.pause("paused on request")
            c.step(more)

    def _report(self, text):
        if text != self.problem:
            self.problem = text
            import sys

            print(f"attention_lens: {text}", file=sys.stderr)


def write_control(run_dir, command, pace=None):
    """Asks the trainer writing `run_dir` to pause, resume, step or stop (or, with "pace", to
    train at `pace`), as the extension does: read, change, replace control.json atomically."""
    if command not in ("pause", "resume", "step", "stop", "pace"):
        raise ValueError(f"unknown control command {command!r}")
    path = os.path.join(run_dir, CONTROL_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        if not isinstance(doc, dict) or doc.get("format") != CONTROL_FORMAT:
            raise ValueError
    except (OSError, ValueError):
        doc = {"format": CONTROL_FORMAT, "version": 1, "seq": 0, "command": "resume", "steps": 0}
    doc["seq"] = int(doc.get("seq", 0)) + 1
    doc["command"] = command
    if command == "step":
        doc["steps"] = int(doc.get("steps", 0)) + 1
    if command == "pace":
        if pace:
            doc["pace"] = dict(pace)
        else:
            doc.pop("pace", None)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    os.replace(tmp, path)
    return doc
