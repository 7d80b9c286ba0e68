"""The stationary run's summary counts each condition of a drift rule and their conjunction per window."""

from benchmarks.drift_soak import Windows


def test_windows_count_each_condition_and_the_windows_where_both_hold():
    windows = Windows(threshold=0.2, alpha=0.001)
    for psi, p in ((0.25, 0.01), (0.05, 1e-9), (0.3, 1e-5), (0.01, 0.5)):
        windows.add("iris/petal width (cm)", psi, p)
    windows.add("digits/pixel_0_2", 0.001, 0.9)
    lines = windows.lines()
    assert lines[0].startswith("    5 windows with data over 2 instances;") and "max 0.3000 (floor 0.2)" in lines[0]
    assert "smallest p 1e-09" in lines[0]
    assert lines[1] == "    windows with PSI over the floor: 2, with p under α: 2, both (alerting): 1"
    assert lines[2].lstrip().startswith("iris/petal width (cm)")  # the instance nearest the floor first


def test_no_window_with_data_says_so():
    assert Windows(threshold=0.2, alpha=0.001).lines() == ["    no window had enough data"]
