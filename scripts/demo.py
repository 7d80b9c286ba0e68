"""``make demo``: traffic through the running stack, then where to look."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

JAEGER = "http://127.0.0.1:16686"
PROMETHEUS = "http://127.0.0.1:9090"


def _query(expr: str) -> list[dict]:
    response = httpx.get(f"{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=10)
    return response.json()["data"]["result"]


def run_demo(duration: int = 30) -> None:
    print(f"sending {duration} s of traffic (iris and digits, slow batches, out-of-distribution rows)...")
    out = subprocess.run(
        [sys.executable, "-m", "ml_api.loadgen", "--rate", "20", "--duration", str(duration),
         "--slow-fraction", "0.05", "--ood-fraction", "0.2", "--json", "--quiet"],
        capture_output=True, text=True, check=True,
    ).stdout
    summary = json.loads(out)
    latency = summary["latency_ms"]
    print(f"{summary['requests']} requests, p50 {latency['p50']} ms, p99 {latency['p99']} ms, errors {summary['errors'] or 'none'}")
    print("\nthe slowest predictions, each a trace in Jaeger (slow traces are always kept):")
    for r in summary["slowest"]:
        print(f"  {r['ms']:>8.1f} ms  {r['model']:<7} batch {r['batch']:<5} {JAEGER}/trace/{r['trace_id']}")
    time.sleep(12)  # two metric export intervals and a scrape
    print("\nper model, from Prometheus:")
    p95 = {r["metric"].get("ml_model_name"): float(r["value"][1]) for r in _query(
        "histogram_quantile(0.95, sum by (le, ml_model_name) (rate(ml_prediction_duration_seconds_bucket[5m])))")}
    low = {r["metric"].get("ml_model_name"): float(r["value"][1]) for r in _query(
        'sum by (ml_model_name) (rate(ml_predictions_total{ml_prediction_low_confidence="true"}[5m]))'
        " / sum by (ml_model_name) (rate(ml_predictions_total[5m]))")}
    for model in sorted(set(p95) | set(low)):
        print(f"  {model:<8} p95 latency {p95.get(model, float('nan')) * 1e3:8.1f} ms   low-confidence share {low.get(model, float('nan')):.1%}")
    print(f"""
where to look:
  Jaeger search for slow predictions: {JAEGER}/search?service=ml-api&minDuration=100ms
  Prometheus, confidence by model:    {PROMETHEUS}/graph?g0.expr=sum%20by%20(ml_model_name%2C%20le)%20(rate(ml_prediction_confidence_bucket%5B5m%5D))
  Exemplars (bucket -> trace):        {PROMETHEUS}/api/v1/query_exemplars?query=ml_prediction_duration_seconds_bucket""")
