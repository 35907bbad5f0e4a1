"""racebed_harness.pool: configs booted side by side report in matrix order."""

import io
import threading
import time
import unittest

from racebed_harness.pool import run_side_by_side
from racebed_harness.report import Reporter, Result


class TestSideBySide(unittest.TestCase):
    def test_output_in_job_order_while_jobs_overlap(self):
        out = io.StringIO()
        running, peak, lock = [0], [0], threading.Lock()

        def job(name, delay):
            def run(r):
                with lock:
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                r.info(f"== {name}")
                time.sleep(delay)
                r.add(Result("PASS", name))
                with lock:
                    running[0] -= 1
                return name
            return run

        reporter = Reporter(out)
        got = run_side_by_side([job("a", 0.2), job("b", 0.0), job("c", 0.05)], 2, reporter)
        self.assertEqual(got, ["a", "b", "c"])
        self.assertEqual(out.getvalue().splitlines(), ["== a", "PASS a", "== b", "PASS b", "== c", "PASS c"])
        self.assertEqual(peak[0], 2)
        self.assertEqual(reporter.counts["PASS"], 3)

    def test_a_job_that_raises_is_a_failure_not_a_lost_config(self):
        def bad(r: Reporter) -> int:
            raise ValueError("boom")

        def good(r: Reporter) -> int:
            r.add(Result("PASS", "ok"))
            return 1
        reporter = Reporter(io.StringIO())
        got = run_side_by_side([bad, good], 2, reporter)
        self.assertEqual(got, [None, 1])
        self.assertEqual((reporter.counts["FAIL"], reporter.counts["PASS"]), (1, 1))


if __name__ == "__main__":
    unittest.main()
