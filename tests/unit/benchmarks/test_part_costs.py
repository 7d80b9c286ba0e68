"""The in-place timer of ``benchmarks/part_costs.py``: a part's calls counted and its thread's CPU time summed,
what it returns and raises passed on, a method bound after it was timed bound timed, and a misnamed part refused."""

import time

import pytest

from benchmarks.part_costs import Timings, resolve, time_part


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
    spin, sleep, fail = (f"{__name__}:Busy.{method}" for method in ("spin", "sleep", "fail"))
    timings = Timings([spin, sleep, fail])
    for part in (spin, sleep, fail):
        time_part(part, timings)
    busy = Busy()
    bound = busy.spin  # bound after it was timed, as the recorder binds its tracer's methods at start-up
    assert busy.spin(0.02) == "done" and bound(0.02) == "done"
    busy.sleep(0.05)  # waiting is not CPU time
    with pytest.raises(ValueError, match="as before"):
        busy.fail()
    totals = timings.totals()
    assert {part: calls for part, (calls, _) in totals.items()} == {spin: 2, sleep: 1, fail: 1}
    assert 40e6 <= totals[spin][1] < 80e6  # nanoseconds: two calls of 20 ms of CPU each
    assert totals[sleep][1] < 10e6


def test_a_misnamed_part_is_refused_before_any_server_starts():
    with pytest.raises(AttributeError, match="spinn"):
        resolve(f"{__name__}:Busy.spinn")
    with pytest.raises(ModuleNotFoundError):
        resolve("mlotel.no_such_module:Thing.method")
