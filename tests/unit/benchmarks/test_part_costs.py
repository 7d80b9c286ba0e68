"""The in-place timer of ``benchmarks/part_costs.py``: a part's calls counted and its thread's CPU time summed,
what it returns and raises passed on, and a method looked up where the code calls it, not where it was bound."""

import collections
import time

import pytest

from benchmarks.part_costs import time_part


class Busy:
    def spin(self, seconds: float) -> str:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
        return "done"

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def fail(self) -> None:
        raise ValueError("as before")


def test_a_part_is_timed_by_its_threads_cpu_and_counted_per_call():
    totals, calls = collections.Counter(), collections.Counter()
    for method in ("spin", "sleep", "fail"):
        time_part(f"{__name__}:Busy.{method}", totals, calls)
    busy = Busy()
    assert busy.spin(0.02) == "done" and busy.spin(0.02) == "done"
    busy.sleep(0.05)  # waiting is not CPU time
    with pytest.raises(ValueError, match="as before"):
        busy.fail()
    spin, sleep, fail = (f"{__name__}:Busy.{method}" for method in ("spin", "sleep", "fail"))
    assert calls == {spin: 2, sleep: 1, fail: 1}
    assert 40e6 <= totals[spin] < 80e6  # nanoseconds: two calls of 20 ms of CPU each
    assert totals[sleep] < 10e6
