"""``mlotel-loadgen`` (or ``python -m mlotel_model_server.loadgen``): bounded, realistic traffic to the ML API.

Open-loop at a target rate for a fixed duration (or request count), with a
model mix, batch sizes, a fraction of large slow batches (the forest on a
thousand rows) and a fraction of out-of-distribution instances that give low
confidence. Prints a progress bar, then throughput, latency percentiles,
errors and the slowest requests with their trace ids. Loopback only unless
``--allow-remote``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import numpy as np
from sklearn.datasets import load_digits, load_iris
from tqdm import tqdm

DATASETS = {"iris": load_iris, "digits": load_digits}
SLOW_MODEL, SLOW_BATCH = "digits", 1000


@dataclass
class Result:
    model: str
    batch: int
    kind: str
    status: int
    seconds: float
    trace_id: str | None


@dataclass
class Summary:
    results: list[Result] = field(default_factory=list)
    elapsed: float = 0.0

    def percentile(self, q: float) -> float:
        latencies = [r.seconds for r in self.results if r.status == 200]
        return float(np.percentile(latencies, q)) if latencies else float("nan")

    def as_dict(self, slowest: int = 5) -> dict:
        errors: dict[str, int] = {}
        for r in self.results:
            if r.status != 200:
                errors[str(r.status)] = errors.get(str(r.status), 0) + 1
        slow = sorted(self.results, key=lambda r: r.seconds, reverse=True)[:slowest]
        return {
            "requests": len(self.results),
            "throughput_rps": len(self.results) / self.elapsed if self.elapsed else 0.0,
            "latency_ms": {f"p{q}": round(self.percentile(q) * 1e3, 2) for q in (50, 90, 99)}
            | {"max": round(max((r.seconds for r in self.results), default=0) * 1e3, 2)},
            "errors": errors,
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


async def run(args: argparse.Namespace) -> Summary:
    rng = np.random.default_rng(args.seed)
    pick = random.Random(args.seed)
    async with httpx.AsyncClient(base_url=args.url, timeout=args.timeout) as client:
        models = {m["name"]: m for m in (await client.get("/models")).json()}
        mix = {name: w for name, w in parse_mix(args.models).items() if name in models}
        if not mix:
            sys.exit(f"none of {args.models!r} is served; the API serves {', '.join(models)}")
        source = InstanceSource(models, rng)
        batches = [int(b) for b in args.batch_sizes.split(",")]
        total = args.requests or int(args.rate * args.duration)
        summary, limit = Summary(), asyncio.Semaphore(args.concurrency)
        progress = tqdm(total=total, unit="req", disable=args.quiet, file=sys.stderr)

        async def one(model: str, batch: int, kind: str) -> None:
            if kind == "slow":
                instances = source.normal(model, batch)
            elif kind == "ood":
                instances = source.out_of_distribution(model, batch)
            else:
                instances = source.normal(model, batch)
            async with limit:
                start = time.perf_counter()
                try:
                    response = await client.post("/predict", json={"model": model, "instances": instances})
                    status = response.status_code
                    trace_id = response.json().get("trace_id") if status == 200 else None
                except httpx.HTTPError:
                    status, trace_id = 0, None
                summary.results.append(Result(model, batch, kind, status, time.perf_counter() - start, trace_id))
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
    return summary


def print_summary(summary: dict) -> None:
    print(f"requests   {summary['requests']}  ({summary['throughput_rps']:.1f}/s)")
    latency = summary["latency_ms"]
    print(f"latency    p50 {latency['p50']} ms  p90 {latency['p90']} ms  p99 {latency['p99']} ms  max {latency['max']} ms")
    print(f"errors     {summary['errors'] or 'none'}")
    print("slowest requests:")
    for r in summary["slowest"]:
        print(f"  {r['ms']:>8.1f} ms  {r['model']:<7} batch {r['batch']:<5} {r['kind']:<6} trace_id {r['trace_id']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mlotel-loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of traffic")
    parser.add_argument("--requests", type=int, default=0, help="request count (overrides rate x duration)")
    parser.add_argument("--models", default="iris=0.7,digits=0.3", help="model mix, name=weight,...")
    parser.add_argument("--batch-sizes", default="1,1,1,4,16", help="batch sizes to draw from")
    parser.add_argument("--slow-fraction", type=float, default=0.02, help=f"share of {SLOW_BATCH}-row {SLOW_MODEL} batches")
    parser.add_argument("--ood-fraction", type=float, default=0.1, help="share of out-of-distribution requests")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at most")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --url")
    args = parser.parse_args(argv)
    if not args.allow_remote:
        check_loopback(args.url)
    if args.rate <= 0 or args.duration <= 0 or not 0 <= args.slow_fraction + args.ood_fraction <= 1:
        parser.error("--rate and --duration must be positive; the fractions must add up to at most 1")
    summary = asyncio.run(run(args)).as_dict()
    print(json.dumps(summary, indent=2) if args.json else "", end="")
    if not args.json:
        print_summary(summary)


if __name__ == "__main__":
    main()
