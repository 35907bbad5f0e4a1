"""The host-request server (racebed_harness/host_requests.py) and its gdbstub client, on
hand-made requests and a fake gdbstub: what is refused, what is written to the mailbox."""

import struct
import unittest
from typing import Any, List, Tuple

from racebed_harness import gdbremote, host_requests as hr


class FakeGdb:
    """Records what the server asks; stops where it is told to."""

    def __init__(self, stop_thread: int, stop_rip: int, step_rip: int):
        self.calls: List[Tuple] = []
        self.stop_thread, self.stop_rip, self.step_rip = stop_thread, stop_rip, step_rip
        self.stepped = False

    def breakpoint(self, addr, insert=True):
        self.calls.append(("bp", addr, insert))

    def write_memory(self, addr, data):
        self.calls.append(("mem", addr, data))

    def cont(self, timeout_s):
        return 5, self.stop_thread

    def read_rip(self, thread):
        return self.step_rip if self.stepped else self.stop_rip

    def set_sstep(self, flags):
        self.calls.append(("sstep", flags))

    def step(self, thread):
        self.stepped = True
        return 5, thread


class HostRequestTest(unittest.TestCase):
    def test_mailbox_layout(self):
        data = hr.mailbox_bytes(7, hr.STATUS_REFUSED, [1, 2], "no")
        self.assertEqual(len(data), 104)  # struct host_mailbox, kernel/hostreq.h
        req_id, status, v0, v1, v2, v3 = struct.unpack_from("<II4Q", data)
        self.assertEqual((req_id, status, v0, v1, v2, v3), (7, 2, 1, 2, 0, 0))
        self.assertEqual(data[40:42], b"no")

    def test_parse_refuses_incomplete(self):
        with self.assertRaises(hr.Refused):
            hr.parse_request("id=1 kind=step cpu=0")  # no mailbox=
        words = hr.parse_request("id=1 kind=step cpu=0 mailbox=0x10 stop=0x20")
        self.assertEqual(hr.number(words, "stop"), 0x20)
        with self.assertRaises(hr.Refused):
            hr.number({"stop": "zz"}, "stop")

    def test_step_served(self):
        server = hr.HostRequests("/nonexistent", ncpus=2)
        gdb: Any = FakeGdb(stop_thread=1, stop_rip=0x1000, step_rip=0x1001)
        words = hr.parse_request("id=3 kind=step cpu=0 mailbox=0x50 stop=0x1000 go=0x60 sstep=irq")
        self.assertEqual(server.handle(gdb, words), [0x1001])
        self.assertIn(("mem", 0x60, struct.pack("<I", 1)), gdb.calls)
        self.assertIn(("sstep", 0x1), gdb.calls)                  # irq: IRQs allowed
        self.assertEqual(gdb.calls[-1], ("sstep", hr.DEFAULT_SSTEP))  # mode restored
        self.assertIn(("bp", 0x1000, False), gdb.calls)           # breakpoint removed

    def test_refusals(self):
        server = hr.HostRequests("/nonexistent", ncpus=2)
        gdb: Any = FakeGdb(1, 0x1000, 0x1001)
        for line, why in (("kind=nmi cpu=0", "unknown kind"), ("kind=mce cpu=0", "bank= missing"),
                          ("kind=mce cpu=0 bank=1 status=5 mcg_status=5", "no QEMU monitor"),
                          ("kind=mce cpu=3 bank=1 status=5 mcg_status=5", "not a vCPU"), ("kind=step cpu=5 stop=1 go=2", "not a vCPU"),
                          ("kind=step cpu=0 stop=1 go=2 sstep=fast", "sstep=fast"),
                          ("kind=step cpu=1 stop=0x1000 go=2", "stopped on thread 1")):
            with self.subTest(line=line):
                words = hr.parse_request("id=1 mailbox=0x10 " + line)
                with self.assertRaisesRegex(hr.Refused, why):
                    server.handle(gdb, words)

    def test_status_answers_debug_stops(self):
        server = hr.HostRequests("/nonexistent", ncpus=1)
        server.debug_stops = 3
        gdb: Any = FakeGdb(1, 0, 0)
        self.assertEqual(server.handle(gdb, hr.parse_request("id=1 kind=status cpu=0 mailbox=0x10")), [3])

    def test_no_gdbstub_leaves_it_unanswered(self):
        notes: List[str] = []
        server = hr.HostRequests("/nonexistent/sock", ncpus=1, note=notes.append)
        server.poll(b"# host-request id=1 kind=step cpu=0 mailbox=0x10 stop=1 go=2\n", "", 0.0)
        self.assertEqual(len(server.served), 1)
        self.assertIn("no gdbstub", server.served[0])
        server.poll(b"# host-request id=1 kind=step cpu=0 mailbox=0x10 stop=1 go=2\n", "", 0.1)
        self.assertEqual(len(server.served), 1)  # each request once

    def test_waits_for_the_whole_line(self):
        server = hr.HostRequests("/nonexistent/sock", ncpus=1)
        server.poll(b"# host-request id=1 kind=mce cpu=0 mailbox=0x10 bank=1 status=0x5 mcg_st", "", 0.0)
        self.assertEqual(server.served, [])  # the line is still being printed
        server.poll(b"# host-request id=1 kind=mce cpu=0 mailbox=0x10 bank=1 status=0x5 mcg_status=0x5\n", "", 0.1)
        self.assertEqual(len(server.served), 1)

    def test_report_reads_the_lines(self):
        from racebed_harness.records import parse_records
        rec = parse_records(["# host-request id=3 kind=mce cpu=1 mailbox=0x10 bank=1 status=0x5 mcg_status=0x5",
                             "# duration_ms=5"])
        self.assertEqual(rec.host_requests, [{"id": "3", "kind": "mce", "cpu": "1", "mailbox": "0x10",
                                              "bank": "1", "status": "0x5", "mcg_status": "0x5"}])
        self.assertNotIn("kind", rec.figures)  # not mistaken for figures

    def test_packets(self):
        self.assertEqual(gdbremote.frame("OK"), b"$OK#9a")
        self.assertEqual(gdbremote.parse_stop("T05thread:p01.02;"), (5, 2))
        self.assertEqual(gdbremote.parse_stop("S02"), (2, None))
        with self.assertRaises(gdbremote.GdbError):
            gdbremote.parse_stop("OK")


if __name__ == "__main__":
    unittest.main()
