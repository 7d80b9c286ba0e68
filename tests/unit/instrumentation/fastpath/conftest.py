"""The span encoders the differential tests run on: the Python one always, the native one where it is installed."""

from importlib.util import find_spec

import pytest

from mlotel.fastpath import span_encoding
from mlotel.fastpath.span_request import span_request_encoder

# Installed by `make install` (the workspace's dev group); scripts/test_sdk_range.sh says on which ends it is.
ENCODERS = ["python", "native"] if find_spec("mlotel_native") else ["python"]


@pytest.fixture(params=ENCODERS)
def each_encoder(request, monkeypatch) -> str:
    """Runs the test once per encoder, as the one ``serialize_spans`` and ``encode_spans`` use; its name."""
    encoder = span_request_encoder(native=request.param == "native")
    assert (type(encoder).__module__ == "mlotel_native") is (request.param == "native")
    monkeypatch.setattr(span_encoding, "_ENCODER", encoder)
    return request.param
