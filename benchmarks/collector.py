"""``python -m benchmarks.collector``: how many spans a gateway collector takes
before it loses any, alone and as a pool of two.

OpenTelemetry's load generator ``telemetrygen`` (``scripts/build_telemetrygen.sh``)
sends traces of 1 + ``--child-spans`` spans at increasing rates, each step
``--step`` seconds, over OTLP/gRPC on loopback: to one gateway directly, then to
a sidecar in front of two gateways (its loadbalancing exporter routes by trace
id, as in ``make up SIDECAR=1 GATEWAYS=2``). The gateways run
``otel-collector/gateway.yaml`` as is (tail sampling with ``--num-traces`` and
``--decision-wait``, span metrics, the persistent queue) and export what they
keep to a real Jaeger. Pools run in ABBA order over ``--repeats`` rounds; each
figure is the median over rounds.

Read from each gateway's own metrics (the collector's telemetry, as Prometheus
would scrape it), per step:

- accepted, refused: spans/s its OTLP receiver took and turned away;
- dropped early: spans/s of traces tail sampling evicted before deciding
  (``..._sampling_trace_dropped_too_early`` times spans per trace), counted
  after the step's last decision is due;
- CPU: cores the rate needs: the process' CPU seconds over the whole step, the
  last decisions and exports included, per second of traffic;
  RSS: the highest resident memory seen in the step.

Loss-free means nothing refused and nothing dropped early, at every gateway
(and at the sidecar). Everything listens on 127.0.0.1 and every step is bounded:
the benchmark ends by itself.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlotel_contract as contract
from harness.collectors import BIN, Collector, Gateway, Jaeger, Sidecar

TELEMETRYGEN = BIN / "telemetrygen"
ACCEPTED = contract.PROM_RECEIVER_ACCEPTED_SPANS
REFUSED = contract.PROM_RECEIVER_REFUSED_SPANS
DROPPED_EARLY = contract.PROM_TRACES_DROPPED_TOO_EARLY
GENERATED = re.compile(r'"traces": (\d+)')
CPU = contract.PROM_COLLECTOR_CPU
RSS = contract.PROM_COLLECTOR_RSS
SEND_FAILED = contract.PROM_EXPORTER_FAILED_SPANS


@dataclass
class Step:
    """One rate against one pool: per-second figures, per gateway where it says so."""

    gateways: int
    target: int  # spans/s asked of telemetrygen
    generated: float = 0.0  # spans/s telemetrygen says it made (its SDK may drop some before sending)
    accepted: float = 0.0
    refused: float = 0.0
    dropped_early: float = 0.0
    cpu: list[float] = field(default_factory=list)  # cores, per gateway
    rss_mib: list[float] = field(default_factory=list)  # per gateway
    sidecar_cpu: float = 0.0
    sidecar_lost: float = 0.0  # refused at the sidecar or failed to reach a gateway, spans/s

    @property
    def loss_free(self) -> bool:
        return self.refused == 0 and self.dropped_early == 0 and self.sidecar_lost == 0


class RssWatch:
    """The highest RSS each collector reports while a step runs, sampled each second."""

    def __init__(self, collectors: list[Collector]) -> None:
        self.collectors, self.highest = collectors, [0.0] * len(collectors)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.done.wait(1.0):
            for i, collector in enumerate(self.collectors):
                try:
                    self.highest[i] = max(self.highest[i], collector.metrics().total(RSS))
                except OSError:
                    pass

    def __enter__(self) -> RssWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()


def offer(endpoint: str, spans_per_second: int, spans_per_trace: int, seconds: float, log: Path) -> int:
    """telemetrygen at ``spans_per_second`` (its ``--rate`` is spans/s per worker) for
    ``seconds``; the number of traces it says it generated."""
    # Go's rate limiter, waiting per span, sleeps ~1 ms at best on a busy host: a worker
    # asked for more than ~1,000 spans/s falls short, so more workers instead.
    workers = max(1, -(-spans_per_second // 1000))
    command = [str(TELEMETRYGEN), "traces", "--otlp-endpoint", endpoint, "--otlp-insecure",
               "--rate", f"{spans_per_second / workers:.1f}", "--workers", str(workers), "--duration", f"{seconds:g}s",
               "--child-spans", str(spans_per_trace - 1), "--service", "bench-collector"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    with open(log, "a") as out:
        out.write(result.stdout + result.stderr)
    return sum(int(n) for n in GENERATED.findall(result.stdout + result.stderr))


def settle(decision_wait: float) -> None:
    """Wait until every trace of the step is past its decision, so that evictions are counted.
    (Tail sampling decides each trace within decision_wait + 1 s of its first span; the
    traces it holds stay counted as on memory until num_traces newer ones push them out.)"""
    time.sleep(decision_wait + 2)


def run_step(gateways: list[Gateway], sidecar: Sidecar | None, target: int, args: argparse.Namespace,
             log: Path) -> Step:
    collectors: list[Collector] = [*gateways, *([sidecar] if sidecar else [])]
    before = [c.metrics() for c in collectors]
    with RssWatch(list(gateways)) as rss:
        generated = offer((sidecar or gateways[0]).otlp_grpc, target, args.child_spans + 1, args.step, log)
    settle(args.decision_wait)
    after = [c.metrics() for c in collectors]

    def delta(i: int, name: str) -> float:
        return after[i].total(name) - before[i].total(name)

    n = len(gateways)
    step = Step(len(gateways), target)
    step.generated = generated * (args.child_spans + 1) / args.step
    step.accepted = sum(delta(i, ACCEPTED) for i in range(n)) / args.step
    step.refused = sum(delta(i, REFUSED) for i in range(n)) / args.step
    step.dropped_early = sum(delta(i, DROPPED_EARLY) for i in range(n)) * (args.child_spans + 1) / args.step
    # CPU-seconds over the whole step (the last traces are decided and exported after
    # telemetrygen stops) per second of traffic: the cores this rate needs.
    step.cpu = [delta(i, CPU) / args.step for i in range(n)]
    step.rss_mib = [r / 2**20 for r in rss.highest]
    if sidecar:
        step.sidecar_cpu = delta(n, CPU) / args.step
        step.sidecar_lost = (delta(n, REFUSED) + delta(n, SEND_FAILED)) / args.step
    return step


def run_pool(size: int, rates: list[int], args: argparse.Namespace, directory: Path) -> list[Step]:
    settings = {"TAIL_SAMPLING_DECISION_WAIT": f"{args.decision_wait:g}s", "TAIL_SAMPLING_NUM_TRACES": str(args.num_traces)}
    directory.mkdir(parents=True)
    with Jaeger(directory) as jaeger:
        gateways = [Gateway(directory, i, jaeger.otlp_grpc, settings=settings) for i in range(size)]
        for gateway in gateways:
            gateway.start()
        sidecar = Sidecar(directory, "bench", gateways) if size > 1 else None
        try:
            if sidecar:
                sidecar.start()
            steps = []
            for rate in rates:
                step = run_step(gateways, sidecar, rate, args, directory / "telemetrygen.log")
                print(row(step), flush=True)
                steps.append(step)
            return steps
        finally:
            for collector in [*([sidecar] if sidecar else []), *gateways]:
                collector.stop()


HEADER = (f"{'gateways':>8} {'asked':>7} {'made':>7} {'accepted':>9} {'refused':>8} {'dropped':>8}  "
          f"{'CPU cores per gateway':<22} {'RSS MiB per gateway':<20} {'sidecar':>7}  loss-free")


def row(step: Step) -> str:
    cpu = " ".join(f"{c:.2f}" for c in step.cpu)
    rss = " ".join(f"{r:.0f}" for r in step.rss_mib)
    sidecar = f"{step.sidecar_cpu:.2f}" if step.gateways > 1 else "-"
    return (f"{step.gateways:>8} {step.target:>7} {step.generated:>7.0f} {step.accepted:>9.0f} {step.refused:>8.0f} {step.dropped_early:>8.0f}  "
            f"{cpu:<22} {rss:<20} {sidecar:>7}  {'yes' if step.loss_free else 'NO'}")


def median_step(steps: list[Step]) -> Step:
    median = statistics.median
    first = steps[0]
    return Step(first.gateways, first.target, median(s.generated for s in steps), median(s.accepted for s in steps), median(s.refused for s in steps),
                median(s.dropped_early for s in steps),
                [median(s.cpu[i] for s in steps) for i in range(first.gateways)],
                [median(s.rss_mib[i] for s in steps) for i in range(first.gateways)],
                median(s.sidecar_cpu for s in steps), median(s.sidecar_lost for s in steps))


def capacity(steps: list[Step], spans_per_trace: int) -> str:
    """The highest loss-free step of a pool and its spans/s per gateway core."""
    free = [s for s in steps if s.loss_free]
    if not free:
        return f"{steps[0].gateways} gateway(s): no step was loss-free"
    best = max(free, key=lambda s: s.accepted)
    cores = sum(best.cpu)
    return (f"{best.gateways} gateway(s): loss-free up to {best.accepted:,.0f} spans/s accepted "
            f"({best.accepted / spans_per_trace:,.0f} traces/s) on {cores:.2f} gateway cores: "
            f"{best.accepted / cores:,.0f} spans/s per gateway core")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip("`").split("`: ")[-1],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rates", default="5000,10000,20000,30000,45000",
                        help="spans/s offered, in order, comma-separated")
    parser.add_argument("--pools", default="1,2", help="pool sizes (gateways), comma-separated")
    parser.add_argument("--step", type=float, default=15,
                        help="seconds per rate: over 2 decision waits, so that num_traces can fill and evict")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of all pools (ABBA order); medians reported")
    parser.add_argument("--child-spans", type=int, default=1, help="child spans per trace (spans per trace - 1)")
    parser.add_argument("--num-traces", type=int, default=100000, help="tail sampling's num_traces")
    parser.add_argument("--decision-wait", type=float, default=5, help="tail sampling's decision_wait, seconds")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    pools = [int(p) for p in args.pools.split(",")]
    if not TELEMETRYGEN.exists():
        raise SystemExit(f"{TELEMETRYGEN} missing: run scripts/build_telemetrygen.sh (make bench-collector does)")
    order = [p for round_ in range(args.repeats) for p in (pools if round_ % 2 == 0 else pools[::-1])]
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start "
          f"(a shared machine makes every figure lower and noisier); num_traces {args.num_traces}, decision_wait "
          f"{args.decision_wait:g} s, {args.child_spans + 1} spans per trace, {args.step:g} s per step; "
          f"pools in order {order}")
    print("spans per second: asked of telemetrygen, made by it (its SDK drops what it cannot send in time: made but\n"
          "not accepted, and never refused, is the generator's loss), accepted and refused by the gateways, dropped\n"
          "early (traces evicted before their sampling decision, in spans)")
    results: dict[int, list[list[Step]]] = {p: [] for p in pools}
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        for n, size in enumerate(order):
            print(HEADER if n == 0 else "")
            results[size].append(run_pool(size, rates, args, Path(tmp) / f"round-{n}-pool-{size}"))
    if args.repeats > 1:
        print(f"\nmedians over {args.repeats} rounds\n{HEADER}")
        for size in pools:
            for i in range(len(rates)):
                print(row(median_step([steps[i] for steps in results[size]])))
    print()
    for size in pools:
        print(capacity([median_step([steps[i] for steps in results[size]]) for i in range(len(rates))], args.child_spans + 1))
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
