"""The Grafana dashboards, built with grafana-foundation-sdk (Grafana 11.6 schema).

    python dashboards/generate.py          # rewrite dashboards/json/*.json
    python dashboards/generate.py --check  # exit 1 if the JSON in the repo is stale

Panel queries of mlotel's own metrics come from the metrics contract
(``contract/mlotel_contract/__init__.py``) over what the dashboard variables
select, the collectors' own metrics per gateway among them.

The JSON in ``dashboards/json`` is what Grafana loads (provisioning in
``dashboards/provisioning``); a test keeps it equal to this file's output and
runs every panel's query against a live Prometheus.
"""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

from grafana_foundation_sdk.builders.common import VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import Dashboard, QueryVariable, Row, TimeOption, TimePicker
from grafana_foundation_sdk.builders.heatmap import Panel as Heatmap
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as TimeSeries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableOption, VariableRefresh
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

import mlotel_contract as contract
from mlotel_contract import API_SCOPE, ENDPOINTS, FEATURE, LABEL, MODEL, ROUTE, STATUS, VERSION, Scope

# The command line shared by the repo's generators lives with the scripts.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from generated_files import write_or_check  # noqa: E402

OUT = Path(__file__).resolve().parent / "json"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="prometheus")
RATE = "$__rate_interval"
# What the dashboard variables select: the ML API overview's models and versions, the API instances.
MODEL_CHOSEN = Scope(matchers=f'{MODEL}=~"$model"')
SELECTED = Scope(window=RATE, matchers=f'{MODEL_CHOSEN.matchers}, {VERSION}=~"$version"', by=(MODEL, VERSION))
# Labels are sparser than predictions: their panels read the contract's feedback window, not Grafana's rate interval.
LABELLED = SELECTED(window=contract.FEEDBACK.window)
API = API_SCOPE(window=RATE, matchers=f'{API_SCOPE.matchers}, instance=~"$instance"')
# Minutes (a load test) to days (drift over a week).
TIME_PICKER = TimePicker().refresh_intervals(["10s", "30s", "1m", "5m", "15m", "1h"]).quick_ranges([
    TimeOption().display(f"Last {span}").from_val(f"now-{span}").to("now")
    for span in ("5m", "15m", "1h", "6h", "24h", "7d", "30d")])


def query(expr: str, legend: str = "", exemplar: bool = False) -> Dataquery:
    target = Dataquery().expr(expr).legend_format(legend or "__auto").range()
    return target.exemplar(True) if exemplar else target


def legend(*labels: str, prefix: str = "") -> str:
    """A series' legend: ``prefix`` and each label's value, e.g. "p95 {{ml_model_name}}"."""
    values = " ".join(f"{{{{{label}}}}}" for label in labels)
    return f"{prefix} {values}".lstrip()


def series(title: str, unit: str, *targets: Dataquery, description: str = "", span: int = 12) -> TimeSeries:
    panel = TimeSeries().title(title).description(description).unit(unit).datasource(PROMETHEUS).span(span).height(8)
    panel = panel.legend(VizLegendOptions().display_mode(LegendDisplayMode.TABLE).placement(LegendPlacement.BOTTOM)
                         .show_legend(True).calcs(["mean", "max"]))
    for ref_id, target in zip("ABCDEFGH", targets):
        panel = panel.with_target(target.ref_id(ref_id))
    return panel


def stat(title: str, unit: str, expr: str, description: str = "") -> Stat:
    return Stat().title(title).description(description).unit(unit).datasource(PROMETHEUS).span(6).height(4) \
        .with_target(query(expr).ref_id("A"))


def variable(name: str, label: str, expr: str, all_value: str = ".*") -> QueryVariable:
    return (QueryVariable(name).label(label).query(expr).datasource(PROMETHEUS).refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True).include_all(True).all_value(all_value)
            .current(VariableOption(text="All", value="$__all", selected=True)))


def dashboard(uid: str, title: str, description: str) -> Dashboard:
    return (Dashboard(title).uid(uid).description(description).tags(["mlotel"]).refresh("30s").time("now-1h", "now")
            .timezone("browser").readonly())


def ml_api_overview() -> Dashboard:
    per_version = legend(MODEL, VERSION)
    return (
        dashboard("mlotel-ml-api", "ML API overview",
                  "Traffic, latency, errors and prediction quality per model and version.")
        .with_variable(variable("model", "Model", f"label_values({contract.PROM_PREDICTIONS}, {MODEL})"))
        .with_variable(variable("version", "Version",
                                f"label_values({MODEL_CHOSEN.select(contract.PROM_PREDICTIONS)}, {VERSION})"))
        .with_row(Row("Traffic and errors"))
        .with_panel(series("Prediction requests per second", "reqps", query(contract.request_rate(SELECTED), per_version),
                           span=8))
        .with_panel(stat("Active alerts", "none", contract.active_alerts("firing"),
                         "Firing alerts of the alert-rule service (details: Alertmanager, or GET :8080/alerts/active)"))
        .with_panel(stat("Pending alerts", "none", contract.active_alerts("pending")))
        .with_panel(series("Error ratio", "percentunit", query(contract.error_ratio(SELECTED), per_version),
                           description="Failed or refused prediction requests over all prediction requests.", span=8))
        .with_panel(series("Alerts by rule", "none", query(contract.alerts_by_rule(), legend("alertname", "state")), span=4))
        .with_row(Row("Latency"))
        .with_panel(series(
            "Prediction latency p50 / p95 / p99", "s",
            *(query(contract.latency_quantile(q, SELECTED), legend(MODEL, VERSION, prefix=f"p{round(q * 100)}"),
                    exemplar=True)
              for q in contract.QUANTILES),
            description="Exemplars (dots) link a latency to its trace in Jaeger."))
        .with_row(Row("Prediction quality"))
        .with_panel(
            Heatmap().title("Confidence distribution").unit("none").datasource(PROMETHEUS).span(12).height(9)
            .description("Predictions per confidence bucket over time; mass sliding down means the model is unsure.")
            .calculate(False)
            .with_target(Dataquery().expr(contract.confidence_buckets(SELECTED(by=())))
                         .format(PromQueryFormat.HEATMAP).legend_format(legend("le")).range().ref_id("A")))
        .with_panel(series("Low-confidence ratio", "percentunit", query(contract.low_confidence_ratio(SELECTED), per_version),
                           description="Share of predictions under MLOTEL_LOW_CONFIDENCE_THRESHOLD.", span=6))
        .with_panel(series("Predictions by label", "short",
                           query(contract.predictions_by_label_rate(SELECTED(by=(MODEL,))), legend(MODEL, LABEL)),
                           span=6))
        .with_row(Row("Is the model right? Labels (POST /feedback) and input drift"))
        .with_panel(series(
            "Realized accuracy against the estimate", "percentunit",
            query(contract.realized_accuracy(LABELLED), legend(MODEL, VERSION, prefix="realized")),
            query(contract.estimated_accuracy(LABELLED), legend(MODEL, VERSION, prefix="estimated")),
            description=f"Realized: the share of the predictions scored in the last {LABELLED.window} that were right. "
                        "Estimated: the mean top-class confidence of all predictions, there before any label arrives "
                        f"(a calibrated model's accuracy). AccuracyBelowFloor fires under {contract.ACCURACY_FLOOR:.0%}, "
                        f"AccuracyDropped {contract.ACCURACY_DROP:.0%} under the hour before.", span=12))
        .with_panel(series(
            "Calibration error (ECE)", "none", query(contract.calibration_error(LABELLED), legend(MODEL, VERSION)),
            description="Expected calibration error: over the confidence bins, how far the share right is from the mean "
                        f"confidence, weighted by the bins' labels. CalibrationErrorHigh fires over "
                        f"{contract.CALIBRATION_ERROR_ALERT:g} (over 30 minutes).", span=4))
        .with_panel(series(
            "Label coverage", "percentunit", query(contract.label_coverage(LABELLED), legend(MODEL, VERSION)),
            description="Labels that arrived over predictions made, in the same window; LabelsStopped fires when "
                        "labels stop coming for a model that had them.", span=4))
        .with_panel(series(
            "Label delay p50 / p95", "s",
            *(query(contract.label_delay_quantile(q, LABELLED), legend(MODEL, VERSION, prefix=f"p{round(q * 100)}"))
              for q in (0.5, 0.95)),
            description="Seconds from a prediction to its label.", span=4))
        .with_panel(series(
            "Input drift per feature (PSI against the training data)", "none",
            query(contract.feature_drift(contract.PROM_FEATURE_DRIFT_PSI,
                                         contract.FEATURE_SCOPE(matchers=SELECTED.matchers)), legend(MODEL, VERSION, FEATURE)),
            description=f"As the alert-rule service computed it over the last {contract.FEATURE_DRIFT_WINDOW}: FeatureDrift "
                        f"fires where PSI ≥ {contract.FEATURE_DRIFT_MIN_PSI:g} and the chi-square test against the "
                        f"training data rejects at α = {contract.FEATURE_DRIFT_FALSE_ALARM_RATE:g} (false alarms per "
                        "feature and window). The console's models page shows each feature's bins.", span=12))
        .with_row(Row("Requests"))
        .with_panel(series("Batch size p50 / p95", "short",
                           *(query(contract.batch_size_quantile(q, SELECTED(by=(MODEL,))),
                                   legend(MODEL, prefix=f"p{round(q * 100)}"))
                             for q in (0.5, 0.95)), span=6))
        .with_panel(series("HTTP requests by route and status", "reqps",
                           query(contract.http_request_rate(ENDPOINTS(window=RATE, by=(ROUTE, STATUS))),
                                 legend(ROUTE, STATUS)), span=6))
    )


def collector_pipeline() -> Dashboard:
    # One series per gateway of a pool ($gateway: their instance labels) and per component.
    scope = contract.COLLECTORS(window=RATE, matchers=f'{contract.COLLECTORS.matchers}, {contract.GATEWAY}=~"$gateway"')
    gateway = contract.GATEWAY

    def flow(title: str, component: str, good: tuple[str, str], bad: tuple[str, str]) -> TimeSeries:
        """Items per second a component handled well and badly, e.g. spans accepted and refused per receiver."""
        return series(title, "short", *(
            query(contract.collector_rate(metric, scope, component), legend(gateway, component, prefix=word))
            for word, metric in (good, bad)), span=6)

    return (
        dashboard("mlotel-collector", "Collector pipeline",
                  "What each mlotel gateway collector accepted, refused, dropped and exported; its queues and memory.")
        .with_variable(variable("gateway", "Gateway",
                                f"label_values({contract.COLLECTORS.select(contract.PROM_COLLECTOR_RSS)}, {gateway})"))
        .with_row(Row("In"))
        .with_panel(flow("Spans in", "receiver", ("accepted", contract.PROM_RECEIVER_ACCEPTED_SPANS),
                         ("refused", contract.PROM_RECEIVER_REFUSED_SPANS)))
        .with_panel(flow("Metric points in", "receiver", ("accepted", contract.PROM_RECEIVER_ACCEPTED_POINTS),
                         ("refused", contract.PROM_RECEIVER_REFUSED_POINTS)))
        .with_row(Row("Sampling"))
        .with_panel(series("Tail sampling decisions", "short",
                           query(contract.collector_rate(contract.PROM_TRACES_SAMPLED, scope, "policy", "sampled"),
                                 legend(gateway, "policy", prefix="sampled={{sampled}}")),
                           query(contract.traces_dropped_too_early_rate(scope), legend(gateway, prefix="dropped too early")),
                           description="Dropped too early: traces evicted before their decision (num_traces too small "
                                       "for the traces/s); lost although nothing was refused.", span=6))
        .with_panel(series("Traces held for a decision", "short",
                           query(contract.collector_gauge(contract.PROM_TRACES_ON_MEMORY, scope),
                                 legend(gateway, prefix="in memory")), span=6))
        .with_row(Row("Out"))
        .with_panel(flow("Spans out", "exporter", ("sent", contract.PROM_EXPORTER_SENT_SPANS),
                         ("failed", contract.PROM_EXPORTER_FAILED_SPANS)))
        .with_panel(flow("Metric points out", "exporter", ("sent", contract.PROM_EXPORTER_SENT_POINTS),
                         ("failed", contract.PROM_EXPORTER_FAILED_POINTS)))
        .with_panel(series("Export queues", "percentunit",
                           query(contract.export_queue_fill(scope), legend(gateway, "exporter")),
                           description="Each sending queue's size over its capacity.", span=6))
        .with_panel(series("Collector memory", "bytes",
                           query(contract.collector_gauge(contract.PROM_COLLECTOR_RSS, scope), legend(gateway, prefix="RSS")),
                           query(contract.collector_gauge(contract.PROM_COLLECTOR_HEAP, scope), legend(gateway, prefix="heap")),
                           span=6))
        .with_panel(series("Collector CPU", "percentunit",
                           query(contract.collector_rate(contract.PROM_COLLECTOR_CPU, scope), legend(gateway)),
                           description="Cores used per gateway.", span=6))
    )


def system_resources() -> Dashboard:
    return (
        dashboard("mlotel-system", "System resources", "CPU, memory and disk of the ML API processes and their host.")
        .with_variable(variable("instance", "API instance",
                                f"label_values({API_SCOPE.select(contract.PROM_PROCESS_CPU)}, instance)"))
        .with_panel(series("API process CPU", "percentunit", query(contract.process_cpu(API), legend("instance")), span=6))
        .with_panel(series("API process memory", "bytes",
                           query(contract.process_memory(API), legend("instance", prefix="RSS")), span=6))
        .with_panel(series("API process threads", "short", query(contract.process_threads(API), legend("instance")), span=6))
        .with_panel(series("Host CPU", "percentunit",
                           query(contract.host_cpu(API(by=(contract.CPU_MODE,))), legend(contract.CPU_MODE)), span=6))
        .with_panel(series("Host memory", "bytes",
                           query(contract.host_memory(API(by=(contract.MEMORY_STATE,))), legend(contract.MEMORY_STATE)), span=6))
        .with_panel(series("Disk I/O", "Bps",
                           query(contract.disk_io_rate(API(by=(contract.DISK_DIRECTION,))), legend(contract.DISK_DIRECTION)),
                           span=6))
    )


DASHBOARDS = {"ml-api-overview.json": ml_api_overview, "collector-pipeline.json": collector_pipeline,
              "system-resources.json": system_resources}


def render(build) -> str:
    built = build().timepicker(TIME_PICKER).build()
    return json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    write_or_check(__doc__.split("\n\n")[0], {OUT / name: partial(render, build) for name, build in DASHBOARDS.items()},
                   "python dashboards/generate.py")
