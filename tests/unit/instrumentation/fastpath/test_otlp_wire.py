"""The hand-written wire format is protobuf's, byte for byte, with protobuf's own serializer as the reference."""

import math

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from mlotel.fastpath import span_attributes
from mlotel.fastpath.otlp_wire import any_value, int64, key_value, varint
from mlotel.fastpath.span_attributes import SpanAttributes

pytestmark = pytest.mark.fastpath  # mlotel.fastpath itself: only on the SDK releases it is tested with


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16383, 16384, 2**21, 2**32 - 1])
def test_varints_are_protobufs(value):
    assert b"\x18" + varint(value) == AnyValue(int_value=value).SerializeToString()  # present even when 0: a oneof


@pytest.mark.parametrize("value", [0, 1, -1, 2**63 - 1, -(2**63), 2**35, -300])
def test_int64_values_are_protobufs_negative_ones_included(value):
    assert any_value(value) == AnyValue(int_value=value).SerializeToString()


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70])
def test_an_int_beyond_int64_is_refused_as_protobuf_refuses_it(value):
    with pytest.raises(ValueError):
        int64(value)
    with pytest.raises(ValueError):
        AnyValue(int_value=value)


@pytest.mark.parametrize(
    ("value", "reference"),
    [
        ("", AnyValue(string_value="")),
        ("ünïcødé ✓ 🙂", AnyValue(string_value="ünïcødé ✓ 🙂")),
        (False, AnyValue(bool_value=False)),
        (True, AnyValue(bool_value=True)),
        (0.0, AnyValue(double_value=0.0)),
        (-0.0, AnyValue(double_value=-0.0)),
        (math.inf, AnyValue(double_value=math.inf)),
        (b"", AnyValue(bytes_value=b"")),
        (b"\x00\xff", AnyValue(bytes_value=b"\x00\xff")),
        (None, AnyValue()),
        ((), AnyValue(array_value=ArrayValue())),
        ([1, None, "x"], AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(), AnyValue(string_value="x")]))),
        ({"k": 1}, AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(int_value=1))]))),
    ],
)
def test_values_are_protobufs(value, reference):
    assert any_value(value) == reference.SerializeToString()


def test_an_empty_key_is_left_unset_and_an_empty_value_is_still_present():
    assert key_value("", None) == KeyValue(key="", value=AnyValue()).SerializeToString() == b"\x12\x00"


def _encoded_as_protobuf(values: dict) -> bytes:
    return Span(attributes=[KeyValue(key=k, value=AnyValue(**v)) for k, v in values.items()]).SerializeToString()


def _encoded(attributes: SpanAttributes, values: dict) -> bytes:
    parts: list[bytes] = []
    attributes.encode(values, parts)
    return b"".join(parts)


def test_span_attributes_encode_the_same_from_the_cache_as_the_first_time(monkeypatch):
    monkeypatch.setattr(span_attributes, "CACHED_ATTRIBUTES", 3)  # full after three: started over, never wrong
    attributes = SpanAttributes(on_error=pytest.fail)
    for index in range(10):
        values = {"route": "/predict", "status": 200, "index": index, "mean": index / 3, "ü": f"v{index}", "long": "x" * 300}
        expected = _encoded_as_protobuf({
            "route": {"string_value": "/predict"}, "status": {"int_value": 200}, "index": {"int_value": index},
            "mean": {"double_value": index / 3}, "ü": {"string_value": f"v{index}"}, "long": {"string_value": "x" * 300},
        })
        assert _encoded(attributes, values) == expected
        assert _encoded(attributes, values) == expected
    kept = [getattr(g, "__self__", None) for g in attributes._by_key.values()]
    kept = [fields for fields in kept if isinstance(fields, dict)]
    assert kept and all(len(fields) <= 3 for fields in kept) and len(attributes._plans) <= 3


def test_equal_values_of_other_types_are_never_taken_for_one_another():
    attributes = SpanAttributes(on_error=pytest.fail)
    for value, reference in [(1, {"int_value": 1}), (True, {"bool_value": True}), (1.0, {"double_value": 1.0})] * 2:
        assert _encoded(attributes, {"x": value, "y": "same"}) == _encoded_as_protobuf({"x": reference, "y": {"string_value": "same"}})


def test_a_span_attribute_that_cannot_be_encoded_is_reported_and_left_out():
    left_out = []
    attributes = SpanAttributes(on_error=lambda key, error: left_out.append(key))
    encoded = _encoded(attributes, {"a": 1, "huge": 2**64, "\ud800": 0.5, "s": "\ud800", "o": object(), "b": "ok"})
    assert encoded == _encoded_as_protobuf({"a": {"int_value": 1}, "b": {"string_value": "ok"}})
    assert left_out == ["huge", "\ud800", "s", "o"]
