"""The default feedback alerts' PromQL (from the contract) in the real Prometheus engine:
promtool evaluates each over series shaped as a model would report them, and each fires
for the model it should and stays quiet for the one beside it."""

import subprocess

import yaml

import mlotel_contract as contract

OUTCOMES = contract.PROM_FEEDBACK_OUTCOMES


def series(model: str, correct: bool, per_minute: float, minutes: int = 90, bin_: str = "0.9",
           metric: str = OUTCOMES, then: float | None = None, after: int = 0) -> dict:
    """A counter growing ``per_minute`` (``then`` per minute from minute ``after`` on)."""
    labels = f'{contract.MODEL}="{model}", {contract.CORRECT}="{str(correct).lower()}", {contract.CONFIDENCE_BIN}="{bin_}"'
    if then is None:
        values = f"0+{per_minute}x{minutes}"
    else:
        values = f"0+{per_minute}x{after} {per_minute * after + then}+{then}x{minutes - after - 1}"
    return {"series": f"{metric}{{{labels}}}", "values": values}


def fires(tmp_path, name: str, expr: str, input_series: list[dict], at: str, models: list[str]) -> None:
    """promtool: at ``at``, the alert ``name`` of ``expr`` is firing for exactly ``models``."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"alert": name, "expr": expr}]}]}))
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": input_series,
        "alert_rule_test": [{"eval_time": at, "alertname": name,
                             "exp_alerts": [{"exp_labels": {contract.MODEL: m}} for m in models]}]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_accuracy_below_the_floor_fires_only_with_enough_labels(tmp_path):
    fires(tmp_path, "AccuracyBelowFloor", contract.accuracy_below_floor(), [
        series("poor", True, 6), series("poor", False, 4),        # 60%, 100 labels per 10 minutes
        series("good", True, 9), series("good", False, 1),        # 90%
        series("sparse", False, 1),                               # 0%, but 10 labels per 10 minutes
    ], "30m", ["poor"])


def test_a_drop_against_the_hour_before_fires(tmp_path):
    fires(tmp_path, "AccuracyDropped", contract.accuracy_dropped(), [
        series("dropped", True, 19, then=14, after=60), series("dropped", False, 1, then=6, after=60),  # 95% -> 70%
        series("steady", True, 16), series("steady", False, 4),                                          # 80% always
    ], "75m", ["dropped"])


def test_calibration_error_fires_for_the_overconfident_model(tmp_path):
    confidence = contract.PROM_FEEDBACK_CONFIDENCE
    fires(tmp_path, "CalibrationErrorHigh", contract.calibration_error_high(), [
        # Confident at 0.95 and right 60% of the time: ECE 0.35.
        series("overconfident", True, 6, bin_="0.95"), series("overconfident", False, 4, bin_="0.95"),
        series("overconfident", True, 5.7, bin_="0.95", metric=confidence),
        series("overconfident", False, 3.8, bin_="0.95", metric=confidence),
        # Confident at 0.9 and right 90% of the time: ECE 0.
        series("calibrated", True, 9, bin_="0.9"), series("calibrated", False, 1, bin_="0.9"),
        series("calibrated", True, 8.1, bin_="0.9", metric=confidence),
        series("calibrated", False, 0.9, bin_="0.9", metric=confidence),
    ], "45m", ["overconfident"])


def test_labels_that_stop_arriving_fire_and_steady_ones_do_not(tmp_path):
    fires(tmp_path, "LabelsStopped", contract.labels_stopped(), [
        series("stopped", True, 10, then=0, after=60),
        series("steady", True, 10),
    ], "80m", ["stopped"])
