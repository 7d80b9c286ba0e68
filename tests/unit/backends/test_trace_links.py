"""Trace links open the console's pages, or Jaeger's UI once one is configured."""

from mlotel_backends.trace_links import TraceLinks

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CONSOLE = TraceLinks(console_url="http://127.0.0.1:8501/")
JAEGER = TraceLinks(console_url="http://127.0.0.1:8501", trace_ui_url="http://localhost:16686")


def test_by_default_a_trace_and_a_search_open_the_console():
    assert CONSOLE.trace(TRACE_ID) == f"http://127.0.0.1:8501/trace?trace_id={TRACE_ID}"
    assert CONSOLE.slow("iris", 812, "1h", operation="predict iris") == "http://127.0.0.1:8501/slow?model=iris&min_ms=812&since=1h"
    assert CONSOLE.slow(min_ms=0.5) == "http://127.0.0.1:8501/slow?min_ms=0.5"
    assert TraceLinks().slow() == "/slow" and TraceLinks().trace(TRACE_ID) == f"/trace?trace_id={TRACE_ID}"


def test_with_a_trace_ui_they_open_jaeger():
    assert JAEGER.trace(TRACE_ID) == f"http://localhost:16686/trace/{TRACE_ID}"
    assert JAEGER.slow("iris", 812, "1h", operation="predict iris") == (
        "http://localhost:16686/search?service=ml-api&operation=predict%20iris&minDuration=812ms&lookback=1h")
    assert JAEGER.slow(min_ms=100) == "http://localhost:16686/search?service=ml-api&minDuration=100ms"
