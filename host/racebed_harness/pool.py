"""Booting configs side by side: each config's lines are held back and printed in matrix order,
so the output reads as if the configs had booted one after another."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Sequence, TypeVar

from .report import Reporter, Result
from .runner import CANCEL

T = TypeVar("T")


class HeldReporter(Reporter):
    """A Reporter that keeps its lines and results until replayed into the real one."""

    def __init__(self) -> None:
        super().__init__()
        self.events: List[Callable[[Reporter], None]] = []  # each replays one line or result

    def info(self, text: str) -> None:
        self.events.append(lambda into: into.info(text))

    def add(self, result: Result) -> None:
        self.events.append(lambda into: into.add(result))

    def replay(self, into: Reporter) -> None:
        for event in self.events:
            event(into)


def run_side_by_side(jobs: Sequence[Callable[[Reporter], T]], workers: int, reporter: Reporter) -> List[T]:
    """Runs each job (given a reporter of its own) with up to `workers` at once; their output
    reaches reporter in the jobs' order, each job's as soon as it and all before it are done."""
    held = [HeldReporter() for _ in jobs]
    done = [threading.Event() for _ in jobs]
    results: List[T] = [None] * len(jobs)  # type: ignore[list-item]

    def run(i: int) -> None:
        try:
            results[i] = jobs[i](held[i])
        except KeyboardInterrupt:
            held[i].add(Result("FAIL", "harness", "interrupted"))
        except Exception as e:  # noqa: BLE001  (a harness bug in one config: reported, the rest go on)
            held[i].add(Result("FAIL", "harness", f"{type(e).__name__}: {e}"))
        finally:
            done[i].set()

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for i in range(len(jobs)):
            pool.submit(run, i)
        for i in range(len(jobs)):
            done[i].wait()
            held[i].replay(reporter)
    except KeyboardInterrupt:
        CANCEL.set()  # the running boots kill their QEMUs; the queued ones never start
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
