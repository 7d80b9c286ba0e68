"""A real OTLP receiver (gRPC and HTTP/protobuf) that decodes and keeps what it gets.

Used by the integration tests and by ``benchmarks/overhead.py``. Decoding is
done by opentelemetry-proto, so a request that is not valid OTLP fails here.
``python -m harness.otlp_receiver`` runs one until SIGTERM and prints counts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import signal
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from harness.processes import free_port

REQUEST_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
RESPONSE_TYPES = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}


def attributes(key_values) -> dict:
    """OTLP KeyValue list -> dict of plain Python values."""
    out = {}
    for kv in key_values:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind) if kind else None
    return out


class OtlpReceiver:
    def __init__(self, keep: bool = True) -> None:
        self.grpc_port, self.http_port = free_port(), free_port()
        self.keep = keep
        self.requests: list[tuple[str, str, object]] = []
        self.counts = {"spans": 0, "metrics": 0, "log_records": 0, "requests": 0, "spans_dropped": 0}
        self._lock = threading.Lock()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._http = ThreadingHTTPServer(("127.0.0.1", self.http_port), self._http_handler())

    # -- receiving -----------------------------------------------------------
    def _store(self, protocol: str, signal_name: str, request) -> None:
        with self._lock:
            self.counts["requests"] += 1
            if signal_name == "traces":
                self.counts["spans"] += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            elif signal_name == "metrics":
                self.counts["metrics"] += sum(
                    1 for rm in request.resource_metrics for sm in rm.scope_metrics for _ in sm.metrics
                )
                self.counts["spans_dropped"] = max(self.counts["spans_dropped"], sdk_dropped_spans(request))
            else:
                self.counts["log_records"] += sum(
                    len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs
                )
            if self.keep:
                self.requests.append((protocol, signal_name, request))

    def _servicer(self, signal_name: str, base):
        receiver = self

        class Servicer(base):
            def Export(self, request, context):  # noqa: N802 (gRPC method name)
                receiver._store("grpc", signal_name, request)
                return RESPONSE_TYPES[signal_name]()

        return Servicer()

    def _http_handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                signal_name = self.path.rsplit("/", 1)[-1]
                if signal_name not in REQUEST_TYPES:
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = REQUEST_TYPES[signal_name].FromString(body)
                receiver._store("http", signal_name, request)
                payload = RESPONSE_TYPES[signal_name]().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        return Handler

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> OtlpReceiver:
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            self._servicer("traces", trace_service_pb2_grpc.TraceServiceServicer), self._grpc
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            self._servicer("metrics", metrics_service_pb2_grpc.MetricsServiceServicer), self._grpc
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
            self._servicer("logs", logs_service_pb2_grpc.LogsServiceServicer), self._grpc
        )
        self._grpc.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        self._grpc.start()
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._grpc.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def endpoint(self, protocol: str) -> str:
        port = self.grpc_port if protocol == "grpc" else self.http_port
        return f"http://127.0.0.1:{port}"

    # -- reading ---------------------------------------------------------------
    def spans(self) -> list[tuple[str, dict, object]]:
        """(protocol, resource attributes, span) for every span received."""
        with self._lock:
            requests = [r for r in self.requests if r[1] == "traces"]
        return [
            (protocol, attributes(rs.resource.attributes), span)
            for protocol, _, request in requests
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def metrics(self, name: str) -> list[tuple[str, dict, object]]:
        """(protocol, resource attributes, metric) for every export of metric ``name``."""
        with self._lock:
            requests = [r for r in self.requests if r[1] == "metrics"]
        return [
            (protocol, attributes(rm.resource.attributes), metric)
            for protocol, _, request in requests
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == name
        ]


def sdk_dropped_spans(request) -> int:
    """Spans the sender's SDK says it dropped (cumulative), from its self-observability metrics."""
    dropped = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "otel.sdk.processor.span.processed":
                    dropped += sum(
                        p.as_int for p in metric.sum.data_points if "error.type" in attributes(p.attributes)
                    )
    return dropped


def main() -> None:
    parser = argparse.ArgumentParser(description="Run an OTLP receiver that counts what it gets.")
    parser.add_argument("--ready-file", help="write the ports here as JSON once listening")
    args = parser.parse_args()
    receiver = OtlpReceiver(keep=False).start()
    if args.ready_file:
        with open(args.ready_file, "w") as out:
            json.dump({"grpc_port": receiver.grpc_port, "http_port": receiver.http_port}, out)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    receiver.stop()
    print(json.dumps(receiver.counts), flush=True)


if __name__ == "__main__":
    main()
