"""Where trace links open: the console's pages (``/trace``, ``/slow``) by
default, Jaeger's UI only when one is configured (``TRACE_UI_URL``): a native
Jaeger build serves a placeholder page, not a UI.

The console, the alert-rule service and ``make demo`` all build their links
here, so one setting moves every link the project prints or sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode


def _query(params: dict[str, str]) -> str:
    """``params`` without the empty ones, as a query string (spaces as %20, which every UI reads)."""
    return urlencode({name: value for name, value in params.items() if value}, quote_via=quote)


@dataclass(frozen=True)
class TraceLinks:
    console_url: str = ""
    """The console as users reach it; empty for links within the console itself."""
    trace_ui_url: str = ""
    """A Jaeger UI to open traces in instead of the console; empty: the console."""

    def trace(self, trace_id: str) -> str:
        """One trace."""
        if self.trace_ui_url:
            return f"{self.trace_ui_url.rstrip('/')}/trace/{trace_id}"
        return f"{self.console_url.rstrip('/')}/trace?{_query({'trace_id': trace_id})}"

    def slow(self, model: str = "", min_ms: float | None = None, since: str = "", *,
             service: str = "ml-api", operation: str = "") -> str:
        """The slow predictions of ``model`` (at least ``min_ms``, within ``since`` like "1h").
        Jaeger's search knows spans, not models: there it is ``operation`` of ``service``."""
        min_ms_text = f"{min_ms:g}" if min_ms else ""
        if self.trace_ui_url:
            search = {"service": service, "operation": operation,
                      "minDuration": f"{min_ms_text}ms" if min_ms_text else "", "lookback": since}
            return f"{self.trace_ui_url.rstrip('/')}/search?{_query(search)}"
        query = _query({"model": model, "min_ms": min_ms_text, "since": since})
        return f"{self.console_url.rstrip('/')}/slow" + (f"?{query}" if query else "")
