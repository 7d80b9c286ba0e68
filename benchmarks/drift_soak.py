"""``python -m benchmarks.drift_soak --minutes 30``: on the running stack (``make up``), how
close the shipped drift rules came to alerting over the last minutes, and every alert that fired.

Kept because the false-alarm figure of a stationary run in docs/model-correctness.md comes
from it: drive the traffic first (the page names the load generator's command), then run this.

- Each drift rule of the shipped rules (``FeatureDrift``, ``ConfidenceDrift``) is replayed at
  every ``--step`` (the service's evaluation interval) over the window against Prometheus, with
  the alert-rule service's own queries and statistics: per rule the evaluation windows that had
  data (per model and feature, or per model), the PSI's median, 95th percentile and maximum
  against the rule's floor, the smallest p-value against α, and the windows where either or both
  conditions held. The service's own figures for input drift, as Prometheus scraped them, are
  printed beside the replay's as a cross-check.
- Feedback: per model, the labels scored, realized accuracy, the estimate and the calibration error.
- Alerts: every rule's state changes from the service's ``/alerts/history``, what Alertmanager
  delivered to the service's ``/notifications``, and what Alertmanager holds now.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx

import mlotel_contract as contract
from mlotel_alerting import drift, feature_drift
from mlotel_alerting.chi_square import homogeneity
from mlotel_alerting.rules import Drift, load_directory
from mlotel_alerting.rules import FeatureDrift as FeatureDriftSpec
from mlotel_alerting.settings import DEFAULT_RULES
from mlotel_backends.prometheus import Prometheus


@dataclass
class Windows:
    """One rule's replayed evaluations, per alert instance (model, or model/version/feature)."""

    threshold: float
    alpha: float
    psi: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    p: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, key: str, psi: float, p: float) -> None:
        self.psi[key].append(psi)
        self.p[key].append(p)

    def lines(self) -> list[str]:
        psis = [v for values in self.psi.values() for v in values]
        ps = [v for values in self.p.values() for v in values]
        if not psis:
            return ["    no window had enough data"]
        both = sum(s >= self.threshold and p < self.alpha for k in self.psi for s, p in zip(self.psi[k], self.p[k]))
        q = statistics.quantiles(psis, n=20)
        lines = [f"    {len(psis)} windows with data over {len(self.psi)} instances; "
                 f"PSI median {statistics.median(psis):.4f}, p95 {q[-1]:.4f}, max {max(psis):.4f} (floor {self.threshold:g}); "
                 f"smallest p {min(ps):.3g} (α {self.alpha:g})",
                 f"    windows with PSI over the floor: {sum(s >= self.threshold for s in psis)}, "
                 f"with p under α: {sum(p < self.alpha for p in ps)}, both (alerting): {both}"]
        for key in sorted(self.psi, key=lambda k: -max(self.psi[k])):
            lines.append(f"      {key:<44} {len(self.psi[key]):>4} windows, PSI max {max(self.psi[key]):.4f}, "
                         f"p min {min(self.p[key]):.3g}")
        return lines


def _times(start: float, end: float, step: float) -> list[float]:
    return [start + i * step for i in range(int((end - start) // step) + 1)]


async def _feature_drift(prometheus: Prometheus, spec: FeatureDriftSpec, times: list[float]) -> Windows:
    windows = Windows(spec.min_psi, spec.false_alarm_rate)
    counts, reference = feature_drift.queries(spec)
    for at in times:
        _, figures = feature_drift.evaluate(spec, await prometheus.query(counts, at), await prometheus.query(reference, at))
        for figure in figures:
            windows.add("/".join(figure.labels[k] for k in (contract.MODEL, contract.FEATURE)), figure.psi, figure.p_value)
    return windows


async def _confidence_drift(prometheus: Prometheus, spec: Drift, times: list[float]) -> Windows:
    windows = Windows(spec.threshold, spec.false_alarm_rate)
    recent_query, baseline_query = drift.queries(spec)
    for at in times:
        recent = drift.group_buckets(await prometheus.query(recent_query, at), spec.by)
        baseline = drift.group_buckets(await prometheus.query(baseline_query, at), spec.by)
        for key, cumulative in recent.items():
            if set(baseline.get(key, {})) != set(cumulative):
                continue
            r, b = drift.bucket_counts(cumulative), drift.bucket_counts(baseline[key])
            if min(sum(r), sum(b)) >= spec.min_samples:  # below it, the rule has no data
                windows.add("/".join(value for _, value in key), drift.psi(b, r), homogeneity(b, r).p_value)
    return windows


async def replay(prometheus: Prometheus, start: float, end: float, step: float) -> dict[str, Windows]:
    """Every drift rule of the shipped rules, evaluated as the service does at each of the times."""
    times, results = _times(start, end, step), {}
    for rule, _ in load_directory(DEFAULT_RULES).values():
        if rule.feature_drift:
            results[rule.name] = await _feature_drift(prometheus, rule.feature_drift, times)
        elif rule.drift:
            results[rule.name] = await _confidence_drift(prometheus, rule.drift, times)
    return results


async def scraped(prometheus: Prometheus, start: float, end: float) -> list[str]:
    """The service's own input-drift figures over the window, as Prometheus scraped them."""
    window = f"{int(end - start)}s"
    by = f"{contract.MODEL}, {contract.FEATURE}"
    psi = await prometheus.query(f"max by ({by}) (max_over_time({contract.PROM_FEATURE_DRIFT_PSI}[{window}]))", end)
    p = await prometheus.query(f"min by ({by}) (min_over_time({contract.PROM_FEATURE_DRIFT_P_VALUE}[{window}]))", end)
    p_of = {(s.labels[contract.MODEL], s.labels[contract.FEATURE]): s.value for s in p}
    return [f"      {s.labels[contract.MODEL]}/{s.labels[contract.FEATURE]:<37} PSI max {s.value:.4f}, "
            f"p min {p_of.get((s.labels[contract.MODEL], s.labels[contract.FEATURE]), float('nan')):.3g}"
            for s in sorted(psi, key=lambda s: -s.value)]


async def accuracy(prometheus: Prometheus, minutes: float, end: float) -> list[str]:
    """Per model over the window: labels scored, realized accuracy, the confidence-based estimate and the
    calibration error (what CalibrationErrorHigh reads, over its own 30 minutes)."""
    scope = contract.FEEDBACK(window=f"{int(minutes * 60)}s")
    columns = {"scored": contract.scored_count(scope), "accuracy": contract.realized_accuracy(scope),
               "estimate": contract.estimated_accuracy(scope), "ECE": contract.calibration_error(scope)}
    values: dict[str, dict[str, float]] = defaultdict(dict)
    for name, expr in columns.items():
        for sample in await prometheus.query(expr, end):
            values[sample.labels.get(contract.MODEL, "")][name] = sample.value
    return [f"    {model:<8} {v.get('scored', 0):>8,.0f} labels scored, accuracy {v.get('accuracy', float('nan')):.1%}, "
            f"estimate {v.get('estimate', float('nan')):.1%}, calibration error {v.get('ECE', float('nan')):.3f}"
            for model, v in sorted(values.items())]


def alerts(args, start: float) -> list[str]:
    lines = []
    history = httpx.get(f"{args.alerting}/alerts/history", params={"since": start, "limit": 10_000}, timeout=30).json()
    fired = [h for h in history if h["current"] == "firing"]
    pending = [h for h in history if h["current"] == "pending"]
    lines.append(f"  alert-rule service: {len(history)} state changes, {len(pending)} to pending, {len(fired)} to firing")
    for h in sorted(history, key=lambda h: h["at"]):
        instance = ", ".join(f"{k}={v}" for k, v in h["labels"].items() if k not in ("alertname", "severity"))
        lines.append(f"    {h['at']}  {h['rule']:<22} {h['previous']:>8} -> {h['current']:<8} {instance} value {h['value']}")
    delivered = httpx.get(f"{args.alerting}/notifications", params={"since": start, "limit": 1000}, timeout=30).json()
    lines.append(f"  notifications delivered by Alertmanager: {len(delivered)}")
    lines += [f"    {n['received_at']}  {n['status']:<8} {n['labels'].get('alertname')}" for n in delivered]
    held = httpx.get(f"{args.alertmanager}/api/v2/alerts", timeout=30).json()
    lines.append(f"  Alertmanager holds now: {len(held)} alert(s) " + ", ".join(a["labels"].get("alertname", "") for a in held))
    return lines


async def report(args) -> None:
    end = time.time()
    start = end - args.minutes * 60
    prometheus = Prometheus(args.prometheus, timeout=30)
    print(f"window: the last {args.minutes:g} minutes, {time.strftime('%H:%M:%S', time.gmtime(start))}–"
          f"{time.strftime('%H:%M:%S', time.gmtime(end))} UTC, replayed every {args.step:g} s")
    for name, windows in (await replay(prometheus, start, end, args.step)).items():
        print(f"  {name}:")
        print("\n".join(windows.lines()))
        if name == "FeatureDrift":
            print("    the service's own figures, as scraped:")
            print("\n".join(await scraped(prometheus, start, end)))
    print("  feedback over the window:")
    print("\n".join(await accuracy(prometheus, args.minutes, end)))
    print("\n".join(alerts(args, start)))
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30, help="how far back from now")
    parser.add_argument("--step", type=float, default=15, help="seconds between replayed evaluations")
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--alerting", default="http://127.0.0.1:8080")
    parser.add_argument("--alertmanager", default="http://127.0.0.1:9093")
    asyncio.run(report(parser.parse_args()))


if __name__ == "__main__":
    main()
