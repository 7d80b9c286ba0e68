"""The HTTP semantic-convention attributes of a request's server span and of its duration measurement.

:class:`HttpAttributes` builds them for :mod:`mlotel.middleware`, once per
distinct request head and once per distinct outcome, and hands out the same
dicts again for a request that looks the same: a span copies the attributes
it is given, and the measurement queue records a batch of one attribute dict
at once. Building them took a fifth of the middleware's own instructions per
request (``python -m benchmarks.request_path``); looking them up in a
``functools.lru_cache`` takes a fraction of that. A head is everything the
span's first attributes are read from (method, scheme, protocol, path, query,
client and server addresses, ``Host`` and ``User-Agent``), so a keep-alive
connection's requests to one route share one; each cache keeps the
:data:`CACHED_SETS` most recently used.
"""

from __future__ import annotations

import functools
from collections.abc import MutableMapping
from typing import Any

from opentelemetry.semconv.attributes.client_attributes import CLIENT_ADDRESS
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_REQUEST_METHOD_ORIGINAL,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.network_attributes import (
    NETWORK_PEER_ADDRESS,
    NETWORK_PEER_PORT,
    NETWORK_PROTOCOL_VERSION,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.url_attributes import URL_PATH, URL_QUERY, URL_SCHEME
from opentelemetry.semconv.attributes.user_agent_attributes import USER_AGENT_ORIGINAL
from opentelemetry.util.http import redact_query_parameters

from mlotel.plain_attributes import plain
from mlotel.semconv import OTHER_METHOD

Scope = MutableMapping[str, Any]
# Request heads and outcomes whose attribute dicts are kept for reuse, each, the most recently used.
CACHED_SETS = 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What the default propagator (OTEL_PROPAGATORS unset: W3C trace context and baggage) reads.
W3C_FIELDS = frozenset(("traceparent", "tracestate", "baggage"))
_W3C_HEADERS = frozenset(field.encode() for field in W3C_FIELDS)

# A request head's span name, span attributes, and the measurement's method, scheme and protocol version.
Head = tuple[str, dict[str, Any], tuple[str, str, str]]
# An outcome's span name (None: the span keeps its own), the attributes it adds to the span, the
# measurement's attributes, and whether the request failed (the span's status is then an error).
Outcome = tuple[str | None, dict[str, Any], dict[str, Any], bool]


class HttpAttributes:
    """A request's attributes, reused for requests alike; never change a dict it returns."""

    def __init__(self, known_methods: frozenset[str]) -> None:
        self._known_methods = known_methods
        self._head = functools.lru_cache(maxsize=CACHED_SETS)(self._new_head)
        self._outcome = functools.lru_cache(maxsize=CACHED_SETS)(_new_outcome)

    def head(self, scope: Scope) -> tuple[Head, bool]:
        """The request's head, and whether a W3C propagation header came."""
        host, agent, propagated = _headers(scope)
        # The socket the request came in on only matters without a Host header (see _server).
        head = (scope["method"], scope.get("scheme", "http"), scope.get("http_version", "1.1"), scope["path"],
                scope.get("query_string"), scope.get("client"), scope.get("server") if host is None else None,
                host, agent)
        try:
            return self._head(*head), propagated
        except TypeError:  # an unhashable part (a list where ASGI servers pass tuples): built, not kept
            return self._new_head(*head), propagated

    def outcome(self, head: Head, scope: Scope, status: int, error_type: str | None) -> Outcome:
        """What the response tells, for the span and the measurement."""
        route = scope.get("route")
        route = getattr(route, "path_format", None) or getattr(route, "path", None)
        try:
            return self._outcome(head[0], head[2], status, route, error_type)
        except TypeError:  # a route that is no string
            return _new_outcome(head[0], head[2], status, route, error_type)

    def _new_head(self, method: str, scheme: str, version: str, path: str, query: bytes | None,
                  client: Any, server: Any, host: bytes | None, agent: bytes | None) -> Head:
        name = method
        measured = method
        if method not in self._known_methods:
            name = "HTTP"
            measured = OTHER_METHOD
        attributes: dict[str, Any] = {
            HTTP_REQUEST_METHOD: measured, URL_SCHEME: scheme, NETWORK_PROTOCOL_VERSION: version, URL_PATH: path,
        }
        # The socket's peer: also the client, unless a proxy's headers say otherwise (uvicorn --proxy-headers).
        if client:
            attributes[CLIENT_ADDRESS] = attributes[NETWORK_PEER_ADDRESS] = client[0]
            attributes[NETWORK_PEER_PORT] = client[1]
        else:
            attributes[CLIENT_ADDRESS] = ""
        if agent is not None:
            attributes[USER_AGENT_ORIGINAL] = agent.decode("latin-1")
        if measured is OTHER_METHOD:
            attributes[HTTP_REQUEST_METHOD_ORIGINAL] = method
        if query:
            attributes[URL_QUERY] = redact_query_parameters(f"?{query.decode('latin-1')}")[1:]
        if addressed := _server(server, scheme, host):
            attributes[SERVER_ADDRESS], attributes[SERVER_PORT] = addressed
        return name, plain(attributes), (measured, scheme, version)


def _new_outcome(name: str, measured: tuple[str, str, str], status: int, route: str | None,
                 error_type: str | None) -> Outcome:
    if error_type is None and status >= 500:
        error_type = str(status)
    # Only what the span does not have yet: each attribute set costs its lock and encoding.
    outcome: dict[str, Any] = {HTTP_RESPONSE_STATUS_CODE: status}
    if route:
        outcome[HTTP_ROUTE] = route
    if error_type:
        outcome[ERROR_TYPE] = error_type
    method, scheme, version = measured
    # Measured per request as well as traced: what the spec makes required or recommended for the metric.
    attributes = {HTTP_REQUEST_METHOD: method, URL_SCHEME: scheme, NETWORK_PROTOCOL_VERSION: version, **outcome}
    return f"{name} {route}" if route else None, plain(outcome), attributes, bool(error_type)


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None, bool]:
    """``Host``, ``User-Agent`` and whether a W3C propagation header came, in one pass over the headers."""
    host = agent = None
    propagated = False
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value
        elif name == b"user-agent":
            agent = value
        elif name.lower() in _W3C_HEADERS:
            propagated = True
    return host, agent, propagated


def _server(server: Any, scheme: str, host_header: bytes | None) -> tuple[str, int] | None:
    """The server as the client addressed it (``Host``), else the socket the request came in on."""
    if host_header is None:
        return (server[0], server[1]) if server and server[1] is not None else None
    host = host_header.decode("latin-1")
    address, port = host, ""
    if ":" in host.rpartition("]")[2]:  # a port, after a name or a bracketed IPv6 address
        address, _, port = host.rpartition(":")
    # isascii: "²" is a digit to str.isdigit but not to int(); a client sends what it likes.
    known = port.isascii() and port.isdigit() and int(port) <= 65535
    # 253: the longest DNS name; a longer Host is no server's name, only a big attribute.
    return address.strip("[]")[:253], int(port) if known else _DEFAULT_PORTS.get(scheme, 80)
