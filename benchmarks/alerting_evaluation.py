"""``python -m benchmarks.alerting_evaluation``: what an evaluation of many rules costs the
alert-rule service, against a real Prometheus (scraping 20 series every second).

The service runs as its own process with ``--rules`` API rules (``x{k="…"} > t``, a fifth of
them firing) and a 1 s evaluation interval, so evaluations follow each other as fast as they
finish: the time between two starts of an evaluation (a rule's ``last_evaluation``) is the
evaluation's cost, or the interval when it is cheaper. Configurations run in ABBA order; the
median and range of ``--evaluations`` periods each are printed, with the service's RSS and the
slowest ``/health`` seen meanwhile. ``--baseline-python`` adds a run of another checkout's
service (e.g. main before the query cap) for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from harness.alerting_backends import MetricsTarget, prometheus, running
from harness.alerting_service import running_alerting


def _add_rules(service, count: int) -> int:
    """How many were added before one ``PUT`` took longer than 30 s (a service whose loop is saturated)."""
    with httpx.Client(base_url=service.url, timeout=30, headers=service.auth) as client:
        for i in range(count):
            threshold = 0.5 if i % 5 == 0 else 2.0  # a fifth of them fire
            try:
                response = client.put(f"/rules/Rule{i}", json={"expr": f'bench_value{{k="{i % 20}"}} > {threshold}',
                                                               "annotations": {"summary": "{{ value | round(2) }}"}})
            except httpx.TimeoutException:
                return i
            assert response.status_code == 201, response.text
    return count


def _periods(service, evaluations: int, timeout: float) -> list[float]:
    """Seconds between consecutive evaluation starts, as the last rule's last_evaluation shows them."""
    starts: list[float] = []
    last = None
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=service.url, timeout=timeout) as client:
        while len(starts) < evaluations + 2 and time.monotonic() < deadline:
            rules = client.get("/rules").json()
            stamp = rules[-1]["last_evaluation"]
            if stamp and stamp != last:
                last = stamp
                starts.append(time.monotonic())
            time.sleep(0.05)
    # the first change is seen whenever polling began; differences from the second on are whole periods
    return [b - a for a, b in zip(starts[1:], starts[2:])]


def _health_prober(service, stop: threading.Event, slowest: list[float]) -> None:
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(f"{service.url}/health")
            slowest[0] = max(slowest[0], time.perf_counter() - started)
            time.sleep(0.1)


def run(rules: int, concurrency: int | None, evaluations: int, python: str | None, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="alerting-bench-") as tmp:
        directory = Path(tmp)
        target = MetricsTarget()
        for k in range(20):
            target.values[f'bench_value{{k="{k}"}}'] = 1.0
        env = {"ALERTING_EVALUATION_INTERVAL": "1", "ALERTING_MAX_RULES": str(rules + 10)}
        if concurrency is not None:
            env["ALERTING_MAX_CONCURRENT_QUERIES"] = str(concurrency)
        with running(prometheus(directory, target.port)) as prom, running_alerting(
                directory, {"PROMETHEUS_URL": prom.url, **env}, **({"python": python} if python else {})) as service:
            time.sleep(2)  # a few scrapes, so every rule has data
            added = _add_rules(service, rules)
            stop, slowest = threading.Event(), [0.0]
            prober = threading.Thread(target=_health_prober, args=(service, stop, slowest))
            prober.start()
            periods = _periods(service, evaluations, timeout) if added else []
            stop.set()
            prober.join()
            rss = service.process.memory_info().rss
        target.close()
    return {"periods": periods, "rss": rss, "health": slowest[0], "added": added}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32], help="ALERTING_MAX_CONCURRENT_QUERIES values")
    parser.add_argument("--evaluations", type=int, default=8, help="periods measured per run")
    parser.add_argument("--baseline-python", help="another checkout's .venv/bin/python, run once before the rest")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run's measurement")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    if args.baseline_python:
        results["baseline"] = [run(args.rules, None, args.evaluations, args.baseline_python, args.timeout)]
    order = args.concurrency + args.concurrency[::-1]  # ABBA
    for concurrency in order:
        results.setdefault(f"concurrency {concurrency}", []).append(run(args.rules, concurrency, args.evaluations, None, args.timeout))
    print(f"{args.rules} rules, evaluation interval 1 s; seconds between evaluation starts")
    for name, runs in results.items():
        periods = [p for r in runs for p in r["periods"]]
        if min(r["added"] for r in runs) < args.rules:
            print(f"{name:<16} a PUT took over 30 s after {min(r['added'] for r in runs)} rules; measured with those")
        if not periods:
            print(f"{name:<16} no evaluation finished within {args.timeout:g} s")
            continue
        print(f"{name:<16} median {statistics.median(periods):6.2f} s  range {min(periods):.2f}-{max(periods):.2f} s  "
              f"({len(periods)} periods)  RSS {max(r['rss'] for r in runs) / 2**20:.0f} MiB  "
              f"slowest /health {max(r['health'] for r in runs):.2f} s")


if __name__ == "__main__":
    main()
