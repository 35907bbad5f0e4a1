"""host/bench.py's reading of a boot log: the race modes and sti_shadow_nmi's loops become
table rows, each with its gain over the peer loop of the same boot; poke_batch's store costs
and curve are kept beside them."""

import importlib.util
import os
import unittest

from .common import REPO

_spec = importlib.util.spec_from_file_location("bench", os.path.join(REPO, "host", "bench.py"))
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

LOG = """\
# peer_loop sender_cpu=0 victim_cpu=1 nmis_sent=10 nmis=10 nmis_in_shadow=5 in_shadow_per_s=200000 nmis_per_s=400000 unacked=0 ms=30
# padded_loop sender_cpu=0 victim_cpu=1 nmis_sent=10 nmis=10 nmis_in_shadow=9 in_shadow_per_s=500000 nmis_per_s=520000 unacked=0 ms=15
# self_aimed shape=lead0 cpus=1 nmis_sent=9 nmis=9 nmis_in_shadow=9 in_shadow_per_s=3000000 nmis_per_s=3000000 gain_vs_peer_loop=15.0 ms=30
# pair 0->1 trials=9 hits=3 first_hit_us=120
# pair 1->0 trials=9 hits=0 zero_hits first_hit_us=none
# race mode=aimed hits_per_s=100000 blind_hits_per_s=20000 gain=5.0 gain_vs_peer_loop=0.5 trials_per_s=110000 blind_trials_per_s=200000 hit_permille=909 blind_hit_permille=100 shape=cpuid256 unacked=0 stream_hits_per_s=150000 stream_trials_per_s=210000 stream_hit_permille=714
ok 1 sti_shadow_nmi
# race mode=aimed hits_per_s=7 blind_hits_per_s=7 gain=1.0 trials_per_s=9 blind_trials_per_s=9 hit_permille=1 blind_hit_permille=1 shape=plain unacked=0
ok 2 movss_shadow_nmi
# smc_store cpus=8 samples=256 run_code_median_ns=9225 padding_median_ns=210 run_code_p99_ns=32570
# batch_curve sites=64 single_per_s=1374 batch_per_s=28840 ratio=21.88 rounds=13
# sites=64 batch_site_patches_per_s=28840 single_site_patches_per_s=1374 ratio=21.88 sync_median_ns=203650 store_ns_per_site=41267
ok 3 poke_batch
"""


class TestBenchRows(unittest.TestCase):
    def setUp(self):
        self.exps = bench.parse(LOG)
        self.rows = {(r["experiment"], r["mode"]): r for r in bench.rows(self.exps, 2)}

    def test_every_mode_and_loop_is_a_row(self):
        modes = {m for (e, m) in self.rows if e == "sti_shadow_nmi"}
        self.assertEqual(modes, {"aimed", "blind", "stream", "peer_loop", "padded_loop",
                                 "self_aimed"})
        # a race line without the stream fields (an older log) gives no stream row
        self.assertNotIn(("movss_shadow_nmi", "stream"), self.rows)

    def test_gain_over_the_peer_loop_of_the_same_boot(self):
        self.assertEqual(self.rows[("sti_shadow_nmi", "self_aimed")]["vs_peer"], 15.0)
        self.assertEqual(self.rows[("sti_shadow_nmi", "stream")]["vs_peer"], 0.8)
        self.assertEqual(self.rows[("sti_shadow_nmi", "peer_loop")]["vs_peer"], 1.0)
        self.assertEqual(self.rows[("sti_shadow_nmi", "aimed")]["hits_per_s"], 100000)
        # no peer loop in that experiment: nothing to compare with
        self.assertIsNone(self.rows[("movss_shadow_nmi", "aimed")]["vs_peer"])

    def test_peer_loop_that_never_hit_gives_no_ratio(self):
        self.assertIsNone(bench.vs_peer(3000000, {"in_shadow_per_s": 0}))
        self.assertIsNone(bench.vs_peer(3000000, None))

    def test_first_hit_per_pair(self):
        fh = bench.first_hit_summary(self.exps["sti_shadow_nmi"]["first_hit_us"])
        self.assertEqual(fh, {"pairs": 2, "no_hit": 1, "median_us": 120, "max_us": 120})

    def test_poke_batch_costs(self):
        e = self.exps["poke_batch"]
        self.assertEqual(e["smc_store"]["run_code_median_ns"], 9225)
        self.assertEqual(e["smc_store"]["padding_median_ns"], 210)
        self.assertEqual(e["figures"]["ratio"], 21.88)
        self.assertEqual(e["figures"]["store_ns_per_site"], 41267)
        self.assertEqual(e["curve"][0]["sites"], 64)


if __name__ == "__main__":
    unittest.main()
