"""``mlotel-loadgen`` (or ``python -m mlotel_model_server.loadgen``): bounded, realistic traffic to the ML API.

Open-loop at a target rate for a fixed duration (or request count), with a
model mix, batch sizes, a fraction of large slow batches (the forest on a
thousand rows) and a fraction of out-of-distribution instances that give low
confidence. Prints a progress bar, then throughput, latency percentiles of the
answered requests, failures by kind (refused, timeout, disconnected, 4xx,
5xx), the low-confidence share per request and per row, and the slowest
answered requests, each a link to its trace: the console's trace page
(``--console-url``, ``CONSOLE_URL``) or, with ``--trace-ui-url`` (``TRACE_UI_URL``),
Jaeger's UI, as ``make demo`` prints them. With ``--feedback-share`` it sends
actual labels back to ``POST /feedback`` after ``--feedback-delay`` seconds,
wrong at the ``--label-noise`` rate, so realized accuracy is known in advance
(:mod:`mlotel_model_server.loadgen_feedback`). ``--json`` prints the same as JSON (trace ids);
``--record FILE`` writes every request as a JSON line (when it was sent, its
outcome, its trace id). Loopback only unless ``--allow-remote``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import IO
from urllib.parse import urlsplit

import httpx
import numpy as np
from sklearn.datasets import load_digits, load_iris
from tqdm import tqdm

from mlotel.config import TelemetryConfig
from mlotel_backends.trace_links import TraceLinks
from mlotel_model_server.loadgen_feedback import FeedbackSender

DATASETS = {"iris": load_iris, "digits": load_digits}
SLOW_MODEL, SLOW_BATCH = "digits", 1000
# How a request can fail, in the order a summary lists them.
ERROR_KINDS = ("refused", "timeout", "disconnected", "4xx", "5xx")


@dataclass
class Result:
    model: str
    batch: int
    kind: str
    sent: float  # Unix time the request left
    seconds: float
    status: int  # 0: no HTTP answer
    error: str | None  # one of ERROR_KINDS, None when answered 2xx
    trace_id: str | None
    low_confidence: int = 0  # predictions under the threshold, in a 2xx answer

    @property
    def ok(self) -> bool:
        return self.error is None


def error_kind(status: int) -> str | None:
    """The kind of an HTTP answer's failure, or None for a success."""
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return None


def transport_error_kind(exc: httpx.HTTPError) -> str:
    """The kind of a request that got no HTTP answer."""
    if isinstance(exc, httpx.TimeoutException):  # before ConnectError: ConnectTimeout is a timeout
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "refused"
    return "disconnected"  # the server closed the connection before answering (e.g. it was killed)


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)
    elapsed: float = 0.0
    feedback: dict | None = None

    def percentile(self, q: float) -> float:
        latencies = [r.seconds for r in self.results if r.ok]
        return float(np.percentile(latencies, q)) if latencies else float("nan")

    def low_confidence(self) -> dict[str, dict[str, float]]:
        """Per model, the share of answered requests with at least one low-confidence
        prediction (the requests whose predict span has a ``low_confidence`` event) and
        the share of predictions (rows), which a few large batches dominate."""
        shares = {}
        for model in sorted({r.model for r in self.results if r.ok}):
            answered = [r for r in self.results if r.ok and r.model == model]
            rows = sum(r.batch for r in answered)
            shares[model] = {
                "requests": round(sum(1 for r in answered if r.low_confidence) / len(answered), 4),
                "rows": round(sum(r.low_confidence for r in answered) / rows, 4),
            }
        return shares

    def as_dict(self, slowest: int = 5) -> dict:
        kinds = Counter(r.error for r in self.results if not r.ok)
        statuses = Counter(str(r.status) for r in self.results if r.status and not r.ok)
        answered = [r for r in self.results if r.ok]
        slow = sorted(answered, key=lambda r: r.seconds, reverse=True)[:slowest]
        return {
            "requests": len(self.results),
            "throughput_rps": len(self.results) / self.elapsed if self.elapsed else 0.0,
            "latency_ms": {f"p{q}": round(self.percentile(q) * 1e3, 2) for q in (50, 90, 99)}
            | {"max": round(max((r.seconds for r in answered), default=0) * 1e3, 2)},
            "failed": sum(kinds.values()),
            "errors": {kind: kinds[kind] for kind in ERROR_KINDS},
            "errors_by_status": dict(sorted(statuses.items())),
            "max_failed_ms": round(max((r.seconds for r in self.results if not r.ok), default=0) * 1e3, 2),
            "low_confidence": self.low_confidence(),
            "feedback": self.feedback,
            "slowest": [
                {"model": r.model, "batch": r.batch, "kind": r.kind, "ms": round(r.seconds * 1e3, 1), "trace_id": r.trace_id}
                for r in slow
            ],
        }


class InstanceSource:
    """In-distribution rows from the model's own dataset; out-of-distribution rows that confuse it."""

    def __init__(self, models: dict[str, dict], rng: np.random.Generator) -> None:
        self.rng, self.models, self.data = rng, models, {}
        for name in models:
            if name in DATASETS:
                dataset = DATASETS[name]()
                self.data[name] = (dataset.data, dataset.target)

    def normal(self, model: str, n: int) -> list[list[float]]:
        if model not in self.data:
            return self.rng.normal(size=(n, self.models[model]["n_features"])).round(3).tolist()
        features, _ = self.data[model]
        rows = features[self.rng.integers(0, len(features), n)]
        return (rows + self.rng.normal(0, 0.05, rows.shape)).round(3).tolist()

    def out_of_distribution(self, model: str, n: int) -> list[list[float]]:
        if model not in self.data:
            return (self.rng.normal(size=(n, self.models[model]["n_features"])) * 10).round(3).tolist()
        features, target = self.data[model]
        if model == "digits":
            # Noise images: the forest's votes spread over the classes.
            return self.rng.uniform(0, 16, (n, features.shape[1])).round(1).tolist()
        # Between two class centres, where the classifier cannot decide.
        centre = (features[target == 1].mean(axis=0) + features[target == 2].mean(axis=0)) / 2
        return (centre + self.rng.normal(0, 0.05, (n, features.shape[1]))).round(3).tolist()


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        mix[name.strip()] = float(weight or 1)
    return mix


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"{url} is not a loopback address; pass --allow-remote to send load elsewhere")


def count_low(response: httpx.Response, threshold: float) -> int:
    return sum(1 for p in response.json().get("predictions", []) if p.get("confidence", 1.0) < threshold)


async def run(args: argparse.Namespace, record: IO[str] | None = None) -> Summary:
    rng = np.random.default_rng(args.seed)
    pick = random.Random(args.seed)
    async with httpx.AsyncClient(base_url=args.url, timeout=args.timeout) as client:
        try:
            models = {m["name"]: m for m in (await client.get("/models")).json()}
        except httpx.HTTPError as exc:
            sys.exit(f"cannot list the models at {args.url}/models: {exc}")
        mix = {name: w for name, w in parse_mix(args.models).items() if name in models}
        if not mix:
            sys.exit(f"none of {args.models!r} is served; the API serves {', '.join(models)}")
        source = InstanceSource(models, rng)
        batches = [int(b) for b in args.batch_sizes.split(",")]
        total = args.requests or int(args.rate * args.duration)
        summary, limit = Summary(), asyncio.Semaphore(args.concurrency)
        feedback = FeedbackSender(client, {name: m["classes"] for name, m in models.items()}, args.feedback_share,
                                  args.feedback_delay, args.label_noise, random.Random(args.seed + 1))
        progress = tqdm(total=total, unit="req", disable=args.quiet, file=sys.stderr)

        async def one(model: str, batch: int, kind: str) -> None:
            if kind == "ood":
                instances = source.out_of_distribution(model, batch)
            else:
                instances = source.normal(model, batch)
            async with limit:
                sent, start = time.time(), time.perf_counter()
                trace_id, low, error = None, 0, None
                try:
                    response = await client.post("/predict", json={"model": model, "instances": instances})
                    status = response.status_code
                    error = error_kind(status)
                    if error is None:
                        trace_id, low = response.json().get("trace_id"), count_low(response, args.low_confidence)
                        feedback.after(model, response.json()["predictions"])
                except httpx.HTTPError as exc:
                    status, error = 0, transport_error_kind(exc)
                result = Result(model, batch, kind, sent, time.perf_counter() - start, status, error, trace_id, low)
                summary.results.append(result)
                if record is not None:
                    record.write(json.dumps(asdict(result)) + "\n")
                    record.flush()  # a reader may follow the file while the load runs
                progress.update()

        started = time.perf_counter()
        tasks = []
        for i in range(total):
            # Open loop: requests leave on schedule whether or not earlier ones returned.
            delay = started + i / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            roll = pick.random()
            if roll < args.slow_fraction and SLOW_MODEL in models:
                tasks.append(asyncio.create_task(one(SLOW_MODEL, SLOW_BATCH, "slow")))
                continue
            model = pick.choices(list(mix), weights=list(mix.values()))[0]
            kind = "ood" if roll < args.slow_fraction + args.ood_fraction else "normal"
            tasks.append(asyncio.create_task(one(model, pick.choice(batches), kind)))
        await asyncio.gather(*tasks)
        summary.elapsed = time.perf_counter() - started
        progress.close()
        await feedback.drain()
        if args.feedback_share:
            summary.feedback = feedback.as_dict()
    return summary


def print_summary(summary: dict, links: TraceLinks) -> None:
    print(f"requests   {summary['requests']}  ({summary['throughput_rps']:.1f}/s)")
    latency = summary["latency_ms"]
    print(f"latency    p50 {latency['p50']} ms  p90 {latency['p90']} ms  p99 {latency['p99']} ms  max {latency['max']} ms  (answered requests)")
    if summary["failed"]:
        kinds = ", ".join(f"{kind} {n}" for kind, n in summary["errors"].items() if n)
        statuses = ", ".join(f"{status}: {n}" for status, n in summary["errors_by_status"].items())
        print(f"failed     {summary['failed']}  ({kinds}{f'; by status {statuses}' if statuses else ''})")
    else:
        print("failed     none")
    for model, share in summary["low_confidence"].items():
        print(f"low-confidence  {model:<7} {share['requests']:.1%} of requests, {share['rows']:.1%} of rows")
    if summary["feedback"]:
        fb = summary["feedback"]
        print(f"feedback   {fb['sent']} labels sent after {fb['delay_s']:g} s, {fb['scored']} scored, "
              f"{fb['duplicates']} duplicates, refused {fb['refused'] or 'none'}; accuracy should read "
              f"{fb['expected_accuracy']:.1%} (sent: {fb['sent_accuracy']})")
    print("slowest answered requests:")
    for r in summary["slowest"]:
        trace = links.trace(r["trace_id"]) if r["trace_id"] else "no trace id"
        print(f"  {r['ms']:>8.1f} ms  {r['model']:<7} batch {r['batch']:<5} {r['kind']:<6} {trace}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlotel-loadgen", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the ML API")
    p.add_argument("--rate", type=float, default=20.0, help="requests per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of traffic")
    p.add_argument("--requests", type=int, default=0, help="request count (overrides rate x duration; 0: use them)")
    p.add_argument("--models", default="iris=0.7,digits=0.3", help="model mix, name=weight,...")
    p.add_argument("--batch-sizes", default="1,1,1,4,16", help="batch sizes to draw from")
    p.add_argument("--slow-fraction", type=float, default=0.02, help=f"share of {SLOW_BATCH}-row {SLOW_MODEL} batches")
    p.add_argument("--ood-fraction", type=float, default=0.1, help="share of out-of-distribution requests")
    p.add_argument("--feedback-share", type=float, default=0.0, help="share of predictions whose actual label is sent back")
    p.add_argument("--feedback-delay", type=float, default=5.0, help="seconds from a prediction to its feedback")
    p.add_argument("--label-noise", type=float, default=0.1,
                   help="share of feedback whose label is not the predicted one: accuracy should read 1 - this")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight at most")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take before it counts as a timeout")
    p.add_argument("--low-confidence", type=float, default=TelemetryConfig.low_confidence_threshold,
                   help="a prediction under this confidence is low (the API's MLOTEL_LOW_CONFIDENCE_THRESHOLD default)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the traffic")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--record", metavar="FILE", help="write every request as a JSON line to FILE")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --url")
    p.add_argument("--console-url", default=os.environ.get("CONSOLE_URL", "http://127.0.0.1:8501"),
                   help="the console the slowest requests' trace links open (env CONSOLE_URL)")
    p.add_argument("--trace-ui-url", default=os.environ.get("TRACE_UI_URL", ""),
                   help="a Jaeger UI to open them in instead (env TRACE_UI_URL)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if not args.allow_remote:
        check_loopback(args.url)
    if args.rate <= 0 or args.duration <= 0 or not 0 <= args.slow_fraction + args.ood_fraction <= 1:
        parser().error("--rate and --duration must be positive; the fractions must add up to at most 1")
    if not (0 <= args.feedback_share <= 1 and 0 <= args.label_noise <= 1 and args.feedback_delay >= 0):
        parser().error("--feedback-share and --label-noise are shares in [0, 1]; --feedback-delay is >= 0")
    if args.record:
        with open(args.record, "w") as record:
            summary = asyncio.run(run(args, record)).as_dict()
    else:
        summary = asyncio.run(run(args)).as_dict()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary, TraceLinks(args.console_url, args.trace_ui_url))


if __name__ == "__main__":
    main()
