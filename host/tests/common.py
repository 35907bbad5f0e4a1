"""Paths and helpers shared by the host unit tests."""

import os
from typing import Optional, TypeVar, Union

T = TypeVar("T")

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


def not_none(value: Optional[T]) -> T:
    """value, which a test goes on to use: the test fails here if it is None."""
    if value is None:
        raise AssertionError("unexpected None")
    return value


def num(value: Union[int, float, str]) -> float:
    """A parsed figure a test computes with: the test fails here if it is a word."""
    if isinstance(value, str):
        raise AssertionError(f"{value!r} is not a number")
    return value
