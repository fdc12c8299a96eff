"""The control file: each new write applied once, the last one when writes were missed, every
single step asked for trained, and a stale file never undoes the trainer's own pause."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attention_lens.control import Control, ControlFile, write_control  # noqa: E402


class TestControlFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.c = Control()
        self.f = ControlFile(self.dir, self.c)

    def poll(self):
        self.f.poll(0)

    def test_no_file_changes_nothing(self):
        self.poll()
        self.assertFalse(self.c.paused or self.c.stop_requested)

    def test_pause_step_step_resume_stop(self):
        write_control(self.dir, "pause")
        self.poll()
        self.assertTrue(self.c.paused)
        self.assertEqual(self.c.pause_reason, "paused on request")
        write_control(self.dir, "step")
        write_control(self.dir, "step")  # two steps between two reads: both count
        self.poll()
        self.assertEqual(self.c.pending_steps, 2)
        self.poll()
        self.assertEqual(self.c.pending_steps, 2, "a write is applied once")
        write_control(self.dir, "resume")
        self.poll()
        self.assertFalse(self.c.paused)
        write_control(self.dir, "pace", {"stepsPerSecond": 5})
        self.poll()
        self.assertEqual(self.c.pace, {"stepsPerSecond": 5})
        write_control(self.dir, "stop")
        self.poll()
        self.assertTrue(self.c.stop_requested)

    def test_missed_writes_act_on_the_last(self):
        write_control(self.dir, "pause")
        write_control(self.dir, "resume")
        self.poll()
        self.assertFalse(self.c.paused)

    def test_a_self_pause_is_not_undone_by_an_old_file(self):
        write_control(self.dir, "resume")
        self.poll()
        self.c.pause("step 5: loss is NaN")
        self.poll()
        self.assertTrue(self.c.paused)
        write_control(self.dir, "resume")
        self.poll()
        self.assertFalse(self.c.paused, "a new resume does resume")

    def test_a_half_written_or_foreign_file_is_ignored(self):
        with open(os.path.join(self.dir, "control.json"), "w") as f:
            f.write('{"format": "attention-lens-control", "seq": 1, "comm')
        self.poll()
        with open(os.path.join(self.dir, "control.json"), "w") as f:
            f.write('{"seq": 5, "command": "stop"}')
        self.poll()
        self.assertFalse(self.c.stop_requested)


if __name__ == "__main__":
    unittest.main()
