"""Paths and helpers shared by the host unit tests."""

import os

HOST = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(HOST)
SAMPLES = os.path.join(HOST, "samples")
REPORT_TOOL = os.path.join(REPO, "tools", "racebed-report")
LIST_TOOL = os.path.join(REPO, "tools", "list-experiments.py")


def sample(name: str) -> str:
    return os.path.join(SAMPLES, name)


def read_sample(name: str) -> str:
    with open(sample(name), "rb") as f:
        return f.read().decode("utf-8", "replace")
