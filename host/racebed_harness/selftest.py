"""`--self-test`: the harness's own checks, one result each."""

from typing import Callable, List, Tuple

from .report import Reporter, Result
from .selftest_arch import st_arch_verdicts
from .selftest_boot import st_exit_decoding, st_fake_qemu
from .selftest_labs import st_kvm_plan, st_matrix_options, st_menu, st_resume, st_screendump, st_spcr
from .selftest_parsing import (
    st_crashed_log, st_first_rule_wins, st_good_log, st_junk_before_header, st_log_patterns, st_observations,
    st_parse_errors, st_repo_files, st_skips, st_structural_errors, st_timeout_result)

SELF_TESTS: List[Tuple[str, Callable[[], None]]] = [
    ("good log", st_good_log),
    ("junk before header", st_junk_before_header),
    ("crashed log", st_crashed_log),
    ("structural errors", st_structural_errors),
    ("timeout result", st_timeout_result),
    ("skip expected/unexpected", st_skips),
    ("observations present/absent", st_observations),
    ("first matching rule wins", st_first_rule_wins),
    ("log patterns present/absent", st_log_patterns),
    ("matrix and expectation syntax", st_parse_errors),
    ("repository matrix and expectations", st_repo_files),
    ("arch verdicts, controls, deviations", st_arch_verdicts),
    ("exit status decoding", st_exit_decoding),
    ("fake QEMU boots", st_fake_qemu),
    ("matrix harness options", st_matrix_options),
    ("resume after a platform stop", st_resume),
    ("screendump check", st_screendump),
    ("GRUB menu family entries", st_menu),
    ("SPCR table", st_spcr),
    ("KVM -cpu fallback and -smp cap", st_kvm_plan),
]


def run_self_test(reporter: Reporter) -> None:
    """Runs the built-in checks of the parser, matcher and boot runner."""
    for name, fn in SELF_TESTS:
        label = f"self-test {name}"
        try:
            fn()
        except Exception as e:  # report any failure, including crashes, as one result
            kind = "" if isinstance(e, AssertionError) else f"{type(e).__name__}: "
            reporter.add(Result("FAIL", label, f"{kind}{e}"))
        else:
            reporter.add(Result("PASS", label))


