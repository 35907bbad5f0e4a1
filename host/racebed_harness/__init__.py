"""The racebed CI harness behind host/harness.py, one concern a module:

    paths              where the harness's files live; paths in messages
    inputs             HarnessError, and the comment syntax of the input files
    report             Result and Reporter: the PASS / FAIL / SKIP lines
    matrix             the boot matrix (host/matrix.txt)
    expectations       the expectation files (host/expect/ACCEL.exp)
    ktap               parsing a serial log as KTAP version 1 (with nested subtests)
    records            the structured `#` lines: figures, observations, hist, pair, race, ...
    kunit_check        the cross-check with Linux's tools/testing/kunit/kunit.py
    export             results.json and JUnit XML
    html_report        the static HTML report of tools/racebed-report (matplotlib plots)
    qemu               the QEMU driver: command lines, exit values, KVM's -cpu and -smp limits
    runner             running QEMU with a timeout, following its serial log
    checks             checking a finished boot against the expectations
    iso                building (or reusing) the GRUB ISO for a command line
    boot               booting every selected config of the matrix
    serial_line        UART layouts (COM1, PCI card, SPCR-named), keys sent on the serial line
    screen             the results screen: QMP screendump and its check
    platform_stop      a run the platform stopped: detection, resume in new boots, one log
    menu               the GRUB menu's family entries against the experiments
    lab                the LAVA jobs (lab/lava/lab.py)
    unit               running the host unit-test executables

The harness's own tests are in host/tests (python3 -m unittest, run by make test).

host/harness.py holds the harness's command line and host/qemu.py the QEMU driver's; both
import this package from the folder they sit in (a script's folder is first on sys.path).
"""
