"""The harness's tests (make test: python3 -m unittest discover -s host/tests -t host): the parser,
the checks, the boot path against a fake QEMU, the exporters and tools/racebed-report, on the
committed sample logs (host/samples/) and the hand-written samples of fixtures.py."""
