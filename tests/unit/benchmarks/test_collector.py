"""The collector benchmark's arithmetic: medians per step over rounds, and the capacity
it reports is the highest step with nothing refused or dropped anywhere."""

from benchmarks.collector import Step, capacity, median_step


def step(accepted: float, cpu: float, dropped: float = 0.0, refused: float = 0.0, sidecar_lost: float = 0.0) -> Step:
    return Step(1, 10_000, accepted, accepted, refused, dropped, [cpu], [100.0], 0.0, sidecar_lost)


def test_each_figure_is_the_median_over_rounds():
    median = median_step([step(1000, 0.1), step(3000, 0.5), step(2000, 0.2)])
    assert (median.accepted, median.cpu) == (2000, [0.2])


def test_capacity_is_the_highest_loss_free_step_per_core():
    steps = [step(5000, 0.1), step(9000, 0.2), step(12000, 0.2, dropped=10), step(11000, 0.25, sidecar_lost=1)]
    assert capacity(steps, spans_per_trace=2) == (
        "1 gateway(s): loss-free up to 9,000 spans/s accepted (4,500 traces/s) on 0.20 gateway cores: "
        "45,000 spans/s per gateway core")
    assert "no step was loss-free" in capacity([step(1, 0.1, refused=1)], spans_per_trace=2)
