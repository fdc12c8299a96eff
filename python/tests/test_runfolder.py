"""The run folder writer: numbers written as JavaScript writes them (meta.json's checksum),
what is written reads back, and what a killed writer flushed stays readable."""

import json
import math
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attention_lens import frames  # noqa: E402
from attention_lens.runfolder import RunFolderWriter, create_run_dir, js_json, js_number, make_run_id, read_run  # noqa: E402


class TestJsJson(unittest.TestCase):
    def test_numbers_as_json_stringify_writes_them(self):
        cases = [(1.0, "1"), (-0.0, "0"), (0.1, "0.1"), (1e-7, "1e-7"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (123456.789, "123456.789"), (1.5e-6, "0.0000015"), (2.5e-300, "2.5e-300"), (math.nan, "null"), (math.inf, "null"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (3, "3"), (True, "true")]
        for x, want in cases:
            self.assertEqual(js_number(x), want, repr(x))

    def test_pretty_printing_as_json_stringify_with_two_spaces(self):
        self.assertEqual(js_json({"a": [1, {"b": None}], "c": {}, "d": []}, 2), '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "c": {},\n  "d": []\n}')

    def test_run_ids(self):
        import datetime

        t = datetime.datetime(2024, 5, 1, 14, 22, 33)
        self.assertEqual(make_run_id("Lu FC / fast!", t), "20240501-142233-lu-fc-fast")
        self.assertEqual(make_run_id("...", t), "20240501-142233")
        root = tempfile.mkdtemp()
        ids = [create_run_dir(root, "x", t)[0] for _ in range(3)]
        self.assertEqual(ids, ["20240501-142233-x", "20240501-142233-x-2", "20240501-142233-x-3"])


class TestWriter(unittest.TestCase):
    def test_round_trip(self):
        d = os.path.join(tempfile.mkdtemp(), "run")
        info = {"name": "r", "modelKind": "other", "groups": ["a", "b"], "totalSteps": 3, "stepsPerEpoch": 0, "classes": [], "probes": [{"tokens": ["x", "y"], "label": -1}], "measures": [{"id": "s", "kind": "series", "label": "s"}, {"id": "ev", "kind": "event", "label": "ev"}]}
        w = RunFolderWriter(d, {"name": "r", "info": info, "source": "python"}, {"lr": 0.1})
        for s in (1, 2, 3):
            step = {"step": s, "epoch": 0, "loss": 1.0 / s, "trainAccuracy": 0.5, "gradNorms": frames.f64([s, math.nan]), "weightNorms": [1.0, 2.0], "stepMs": 2.0}
            if s == 2:
                step["attention"] = [[{"layer": 0, "head": 0, "stage": "weights", "rows": 2, "cols": 2, "data": frames.f32([0.5, 0.5, 0.25, 0.75])}]]
                step["measures"] = [{"id": "s", "values": frames.f64([7.5])}]
                step["events"] = [{"id": "ev", "step": 2, "text": "é", "payload": {"k": [1, None]}}, {"id": "ev", "step": 2, "text": "second"}]
            w.append_step(step)
        w.close("completed", None, {"steps": 3, "loss": math.nan, "trainAccuracy": 0.5, "validationAccuracy": math.nan, "testAccuracy": math.nan, "msPerStep": 2})
        r = read_run(d)
        self.assertEqual(r["meta"]["status"], "completed")
        self.assertIsNone(r["meta"]["summary"]["loss"], "NaN is written as JSON.stringify writes it")
        self.assertEqual(r["config"], {"lr": 0.1})
        self.assertEqual([x["step"] for x in r["scalars"]], [1, 2, 3])
        self.assertEqual(r["scalars"][1]["loss"], 0.5)
        self.assertTrue(math.isnan(r["scalars"][0]["gradNorms"][1]))
        self.assertEqual(r["attention"][2][0][0]["data"], [0.5, 0.5, 0.25, 0.75])
        self.assertEqual(r["measures"], [{"id": "s", "step": 2, "values": [7.5]}])
        self.assertEqual(r["events"], [{"id": "ev", "step": 2, "text": "é", "payload": {"k": [1, None]}}, {"id": "ev", "step": 2, "text": "second"}])
        self.assertEqual(r["meta"]["counts"], {"steps": 3, "evals": 0, "identity": 0, "attention": 1, "measures": 1, "events": 2})

    def test_what_a_flush_wrote_survives_the_writer(self):
        d = os.path.join(tempfile.mkdtemp(), "run")
        w = RunFolderWriter(d, {"name": "r", "info": {"name": "r", "modelKind": "other", "groups": ["a"], "totalSteps": 0, "stepsPerEpoch": 0, "classes": [], "probes": []}}, None)
        for s in range(1, 11):
            w.append_step({"step": s, "epoch": 0, "loss": s, "trainAccuracy": 0, "gradNorms": [0.0], "weightNorms": [0.0], "stepMs": 0})
        w.flush()
        w.append_step({"step": 11, "epoch": 0, "loss": 11, "trainAccuracy": 0, "gradNorms": [0.0], "weightNorms": [0.0], "stepMs": 0})
        # The process dies here: step 11 was never flushed, meta.json still says running.
        r = read_run(d)
        self.assertEqual(r["meta"]["status"], "running")
        self.assertEqual(len(r["scalars"]), 10)

    def test_refuses_steps_out_of_order_and_undeclared_measures(self):
        d = os.path.join(tempfile.mkdtemp(), "run")
        w = RunFolderWriter(d, {"name": "r", "info": {"name": "r", "modelKind": "other", "groups": [], "totalSteps": 0, "stepsPerEpoch": 0, "classes": [], "probes": []}}, None)
        w.append_step({"step": 2, "epoch": 0, "loss": 1, "gradNorms": [], "weightNorms": []})
        with self.assertRaisesRegex(ValueError, "step 2 after step 2"):
            w.append_step({"step": 2, "epoch": 0, "loss": 1, "gradNorms": [], "weightNorms": []})
        with self.assertRaisesRegex(ValueError, "not declared"):
            w.append_step({"step": 3, "epoch": 0, "loss": 1, "gradNorms": [], "weightNorms": [], "measures": [{"id": "x", "values": [1.0]}]})
        w.append_step({"step": 3, "epoch": 0, "loss": 1, "gradNorms": [], "weightNorms": []})
        w.close("stopped", "because")
        meta = json.load(open(os.path.join(d, "meta.json")))
        self.assertEqual((meta["status"], meta["statusReason"], meta["counts"]["steps"]), ("stopped", "because", 2))


if __name__ == "__main__":
    unittest.main()
