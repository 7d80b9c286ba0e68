"""``make demo``: traffic through the running stack, then where to look.

Links open the console (``CONSOLE_URL``, default http://127.0.0.1:8501), traces
and trace searches Jaeger's UI instead when ``TRACE_UI_URL`` names one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

import httpx

import mlotel_contract as contract
from mlotel_backends.trace_links import TraceLinks

PROMETHEUS = "http://127.0.0.1:9090"
CONSOLE = os.environ.get("CONSOLE_URL", "http://127.0.0.1:8501").rstrip("/")
LINKS = TraceLinks(CONSOLE, os.environ.get("TRACE_UI_URL", ""))


def _per_model(expr: str) -> dict[str, float]:
    response = httpx.get(f"{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=10)
    return {r["metric"].get(contract.MODEL): float(r["value"][1]) for r in response.json()["data"]["result"]}


def _prometheus_link(path: str, **params: str) -> str:
    return f"{PROMETHEUS}{path}?{urlencode(params, quote_via=quote)}"


def run_demo(duration: int = 30) -> None:
    print(f"sending {duration} s of traffic (iris and digits, slow batches, out-of-distribution rows)...")
    out = subprocess.run(
        [sys.executable, "-m", "mlotel_model_server.loadgen", "--rate", "20", "--duration", str(duration),
         "--slow-fraction", "0.05", "--ood-fraction", "0.2", "--json", "--quiet",
         # Half the predictions get their label back 3 s later, 15% of them wrong: accuracy should read 85%.
         "--feedback-share", "0.5", "--feedback-delay", "3", "--label-noise", "0.15"],
        capture_output=True, text=True, check=True,
    ).stdout
    summary = json.loads(out)
    latency = summary["latency_ms"]
    failed = ", ".join(f"{kind} {n}" for kind, n in summary["errors"].items() if n) or "none"
    print(f"{summary['requests']} requests, p50 {latency['p50']} ms, p99 {latency['p99']} ms, failed {summary['failed']} ({failed})")
    feedback = summary["feedback"]
    print(f"{feedback['sent']} actual labels sent back to POST /feedback, {feedback['scored']} scored; "
          f"accuracy should read {feedback['expected_accuracy']:.0%}")
    print("\nthe slowest predictions, each a trace (slow traces are always kept):")
    for r in summary["slowest"]:
        print(f"  {r['ms']:>8.1f} ms  {r['model']:<7} batch {r['batch']:<5} {LINKS.trace(r['trace_id'])}")
    time.sleep(12)  # two metric export intervals and a scrape
    print("\nper model, from Prometheus over the last 5 minutes (what the alert rules read):")
    p95 = _per_model(contract.latency_quantile(0.95))
    low = _per_model(contract.low_confidence_ratio())
    for model in sorted(set(p95) | set(low)):
        print(f"  {model:<8} p95 latency {p95.get(model, float('nan')) * 1e3:8.1f} ms   "
              f"low-confidence {low.get(model, float('nan')):6.1%} of predictions")
    # Per request as well as per row: a few 1,000-row batches outweigh hundreds of one-row requests.
    accuracy, estimate = _per_model(contract.realized_accuracy()), _per_model(contract.estimated_accuracy())
    calibration = _per_model(contract.calibration_error())
    for model in sorted(accuracy):
        print(f"  {model:<8} accuracy {accuracy[model]:6.1%} from feedback, {estimate.get(model, float('nan')):6.1%} "
              f"estimated from confidence, calibration error {calibration.get(model, float('nan')):.3f} (last 10 minutes)")
    print("per model, from this run's answers (a request is low-confidence when any of its predictions is):")
    for model, share in summary["low_confidence"].items():
        print(f"  {model:<8} low-confidence {share['requests']:6.1%} of requests, {share['rows']:6.1%} of predictions")
    print(f"""
where to look:
  Slow predictions (over 100 ms):     {LINKS.slow(min_ms=100)}
  Models (latency, confidence, accuracy and calibration): {CONSOLE}/models
  Alerts:                             {CONSOLE}/alerts
  Prometheus, confidence by model:    {_prometheus_link("/graph", **{"g0.expr": contract.confidence_buckets()})}
  Exemplars (bucket -> trace):        {_prometheus_link("/api/v1/query_exemplars", query=contract.duration_exemplar_series())}""")
