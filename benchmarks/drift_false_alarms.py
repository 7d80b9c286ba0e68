"""``python -m benchmarks.drift_false_alarms``: how often the default input-drift
rule alerts on traffic without drift, and how soon it alerts on a shift.

For each demo model, each feature's bins come from its training data
(``mlotel.feature_drift``), and the rule is the shipped one
(``mlotel_alerting.feature_drift.evaluate`` with the contract's α and PSI floor).

- False alarms: many independent windows of ``n`` observations drawn from
  the reference shares (what resampled training rows give per feature); the
  share of (feature, window) pairs that alert, and of windows where any of a
  model's features alerts. Also the load generator's traffic (its jitter),
  and its default mix (out-of-distribution requests included), binned as the
  server bins them.
- Detection: at ``--rate`` rows per second of the model, a shift of half a
  standard deviation in one feature from t = 0, evaluated every 15 s over the
  rule's window; minutes until the rule has held for its ``for`` (1 min), and
  whether any other feature alerted.

Counts per bin are multinomial draws, so a window costs no rows; a fixed
seed makes the figures repeatable.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits, load_iris

from mlotel.feature_drift import FeatureCounts, FeatureProfile
from mlotel_alerting.feature_drift import evaluate
from mlotel_alerting.rules import FeatureDrift
from mlotel_backends.prometheus import Sample
from mlotel_contract import FEATURE, FEATURE_BIN, MODEL, VERSION
from mlotel_model_server.loadgen import SLOW_BATCH, SLOW_MODEL, InstanceSource, parse_mix, parser

DATASETS = {"iris": load_iris, "digits": load_digits}
SIZES = (50, 100, 300, 1000, 3000, 10000, 100000)


def samples(names: tuple[str, ...], per_feature: list[np.ndarray]) -> list[Sample]:
    return [Sample({MODEL: "m", VERSION: "v", FEATURE: name, FEATURE_BIN: str(b)}, float(v))
            for name, values in zip(names, per_feature) for b, v in enumerate(values)]


def alerting(spec: FeatureDrift, profile: FeatureProfile, counts: list[np.ndarray], reference: list[Sample]) -> set[str]:
    outcome, _ = evaluate(spec, samples(profile.names, counts), reference)
    return {s.labels[FEATURE] for s in outcome.samples}


def traffic_shares(profile: FeatureProfile, rows: np.ndarray) -> list[np.ndarray]:
    counts = FeatureCounts(profile)
    counts.observe(rows)
    return [np.asarray(c) / sum(c) for c in counts.snapshot()]


def default_mix(source: InstanceSource, model: str, requests: int = 20_000) -> np.ndarray:
    """The rows ``mlotel-loadgen``'s defaults send ``model`` (its model mix, batch sizes, slow batches and
    out-of-distribution requests), drawn as its ``run`` draws them."""
    defaults = parser().parse_args([])
    picks, rows = np.random.default_rng(1), []
    mix = parse_mix(defaults.models)
    batches = [int(b) for b in defaults.batch_sizes.split(",")]
    for roll in picks.random(requests):
        if roll < defaults.slow_fraction:
            if model == SLOW_MODEL:
                rows.append(source.normal(model, SLOW_BATCH))
            continue
        if picks.choice(list(mix), p=np.array(list(mix.values())) / sum(mix.values())) != model:
            continue
        batch = int(picks.choice(batches))
        ood = roll < defaults.slow_fraction + defaults.ood_fraction
        rows.append(source.out_of_distribution(model, batch) if ood else source.normal(model, batch))
    return np.vstack(rows)


def false_alarms(spec, profile, shares, rng, windows: int) -> dict[int, tuple[float, float]]:
    reference = samples(profile.names, [np.asarray(s) for s in profile.shares])
    rates = {}
    for n in SIZES:
        feature_alerts = window_alerts = 0
        for _ in range(windows):
            fired = alerting(spec, profile, [rng.multinomial(n, s) for s in shares], reference)
            feature_alerts += len(fired)
            window_alerts += bool(fired)
        rates[n] = (feature_alerts / (windows * len(profile.names)), window_alerts / windows)
    return rates


def detection(spec, profile, data: np.ndarray, source: InstanceSource, model: str, rate: float, rng) -> list[str]:
    reference = samples(profile.names, [np.asarray(s) for s in profile.shares])
    before = traffic_shares(profile, np.array(source.normal(model, 50_000)))
    lines, step, hold = [], 15.0, 60.0
    for feature, column in enumerate(profile.columns):
        rows = np.array(source.normal(model, 50_000))
        rows[:, column] += 0.5 * data[:, column].std()
        after = traffic_shares(profile, rows)
        held, others, found = 0.0, set(), None
        for tick in range(1, int(30 * 60 / step)):
            t = tick * step
            shifted = rng.poisson(rate * min(t, spec.window))
            steady = rng.poisson(rate * max(spec.window - t, 0))
            counts = [rng.multinomial(shifted, a) + rng.multinomial(steady, b) for a, b in zip(after, before)]
            fired = alerting(spec, profile, counts, reference)
            others |= fired - {profile.names[feature]}
            held = held + step if profile.names[feature] in fired else 0.0
            if held > hold:
                found = t
                break
        when = f"{found / 60:4.1f} min" if found else "not within 30 min"
        lines.append(f"    {profile.names[feature]:<20} alerts after {when}; other features alerting: {sorted(others) or 'none'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=2000, help="simulated windows per sample size")
    parser.add_argument("--rate", type=float, default=5.0, help="rows per second of the model, for detection")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    spec, rng = FeatureDrift(), np.random.default_rng(args.seed)
    print(f"rule: chi-square goodness of fit at α = {spec.false_alarm_rate:g} and PSI ≥ {spec.min_psi:g}, "
          f"{spec.window / 60:g} min window, at least {spec.min_samples} observations")
    for model, load in DATASETS.items():
        data = load()
        profile = FeatureProfile.from_reference(data.data, data.feature_names)
        source = InstanceSource({model: {"n_features": data.data.shape[1]}}, rng)
        normal = np.array(source.normal(model, 100_000))
        print(f"\n{model}: {len(profile.names)} features binned ({', '.join(map(str, (len(e) + 1 for e in profile.edges)))} bins)")
        for label, shares in (("drawn from the reference", [np.asarray(s) for s in profile.shares]),
                              ("load generator, no out-of-distribution rows", traffic_shares(profile, normal)),
                              ("load generator's default mix", traffic_shares(profile, default_mix(source, model)))):
            print(f"  false alarms, {label} ({args.windows} windows per size):")
            for n, (per_feature, per_window) in false_alarms(spec, profile, shares, rng, args.windows).items():
                print(f"    n = {n:>6}: {per_feature:7.3%} of feature-windows, {per_window:7.3%} of windows (any feature)")
        print(f"  detection of a half-standard-deviation shift at {args.rate:g} rows/s:")
        print("\n".join(detection(spec, profile, data.data, source, model, args.rate, rng)))


if __name__ == "__main__":
    main()
