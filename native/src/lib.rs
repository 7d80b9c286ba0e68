//! mlotel's OTLP span-request encoder, native: `mlotel.fastpath.span_request.SpanRequestEncoder`, for less CPU
//! (and `prediction_ids`, the prediction-id signer).
//!
//! One call per batch: the spans the fast path makes (`LeanSpan`) are read
//! field by field and written here in protobuf's wire format; any other span,
//! or one with something unusual (events, links, trace state, an attribute
//! value that is not a plain str, bool, int or float), is handed to the Python
//! encoder this one is made with, which stays the reference: the bytes are
//! the same either way (`tests/unit/instrumentation/fastpath`, run on both).
//! Resource and scope envelopes come from the Python encoder too (it keeps
//! them encoded), once per batch and envelope.

mod prediction_ids;
mod wire;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};
use pyo3::intern;
use std::sync::Mutex;

use wire::{bytes_field, varint, varint_len};

/// A span's flags (field 16): OTLP says whether the parent is remote; the SDK always says.
const LOCAL_PARENT: u32 = 0x100;
const REMOTE_PARENT: u32 = 0x300;

/// A resource's or scope's fields before and after what it holds, as the Python encoder gives them.
struct Envelope {
    head: Vec<u8>,
    tail: Vec<u8>,
}

/// The spans of one scope envelope, framed (`ScopeSpans.spans`).
struct ScopeGroup {
    envelope: Envelope,
    spans: Vec<u8>,
}

struct ResourceGroup {
    envelope: Envelope,
    scopes: Vec<ScopeGroup>,
}

#[pyclass(frozen, module = "mlotel_native")]
struct SpanRequestEncoder {
    /// The Python encoder: `span(span) -> (resource, scope, body)`, `envelopes(resource, scope) -> 4 bytes`.
    fallback: Py<PyAny>,
    lean_span: Py<PyType>,
    default_trace_state: Py<PyAny>,
    /// The API's `SpanKind` and `StatusCode` members, by value.
    kinds: Vec<Py<PyAny>>,
    codes: Vec<Py<PyAny>>,
    /// The last status seen unset: spans share their default status object, so most are this one.
    unset: Mutex<Option<Py<PyAny>>>,
}

#[pymethods]
impl SpanRequestEncoder {
    #[new]
    fn new(
        fallback: Py<PyAny>,
        lean_span: Py<PyType>,
        default_trace_state: Py<PyAny>,
        kinds: Vec<Py<PyAny>>,
        codes: Vec<Py<PyAny>>,
    ) -> Self {
        SpanRequestEncoder { fallback, lean_span, default_trace_state, kinds, codes, unset: Mutex::new(None) }
    }

    /// A serialized `ExportTraceServiceRequest` for `spans`, grouped by resource, then scope, as the SDK groups them.
    fn encode<'py>(&self, py: Python<'py>, spans: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let lean_span = self.lean_span.bind(py);
        let mut resources: Vec<ResourceGroup> = Vec::new();
        // (id(resource), id(scope)) -> where its spans go; the objects are held by the spans for the batch.
        let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut body = Vec::with_capacity(512);
        for span in spans.try_iter()? {
            let span = span?;
            body.clear();
            let (resource, scope, python_body);
            if span.get_type().is(lean_span) && self.lean_body(py, &span, &mut body).unwrap_or(false) {
                resource = span.getattr(intern!(py, "_resource"))?;
                scope = span.getattr(intern!(py, "_instrumentation_scope"))?;
                python_body = None;
            } else {
                let encoded = self.fallback.bind(py).call_method1(intern!(py, "span"), (&span,))?;
                let (r, s, b): (Bound<PyAny>, Bound<PyAny>, Bound<PyBytes>) = encoded.extract()?;
                (resource, scope, python_body) = (r, s, Some(b));
            }
            let key = (resource.as_ptr() as usize, scope.as_ptr() as usize);
            let (r, s) = match placed.iter().find(|p| (p.0, p.1) == key) {
                Some(&(_, _, r, s)) => (r, s),
                None => {
                    let (r, s) = self.group(&mut resources, &resource, &scope)?;
                    placed.push((key.0, key.1, r, s));
                    (r, s)
                }
            };
            let encoded = python_body.as_ref().map_or(body.as_slice(), |b| b.as_bytes());
            bytes_field(&mut resources[r].scopes[s].spans, 0x12, encoded);
        }
        // In one pass: each message's size is worked out before it is written.
        let framed = |size: usize| 1 + varint_len(size) + size;
        let scope_size = |scope: &ScopeGroup| scope.envelope.head.len() + scope.spans.len() + scope.envelope.tail.len();
        let resource_size = |resource: &ResourceGroup| {
            resource.envelope.head.len() + resource.scopes.iter().map(|s| framed(scope_size(s))).sum::<usize>() + resource.envelope.tail.len()
        };
        let total = resources.iter().map(|r| framed(resource_size(r))).sum();
        let mut out = Vec::with_capacity(total);
        for resource in &resources {
            out.push(0x0a);
            varint(&mut out, resource_size(resource) as u64);
            out.extend_from_slice(&resource.envelope.head);
            for scope in &resource.scopes {
                out.push(0x12);
                varint(&mut out, scope_size(scope) as u64);
                out.extend_from_slice(&scope.envelope.head);
                out.extend_from_slice(&scope.spans);
                out.extend_from_slice(&scope.envelope.tail);
            }
            out.extend_from_slice(&resource.envelope.tail);
        }
        Ok(PyBytes::new(py, &out))
    }
}

impl SpanRequestEncoder {
    /// Where the spans of `resource` and `scope` go: equal envelopes, not only the same objects, share one, as in the SDK.
    fn group(&self, resources: &mut Vec<ResourceGroup>, resource: &Bound<PyAny>, scope: &Bound<PyAny>) -> PyResult<(usize, usize)> {
        let py = resource.py();
        let found = self.fallback.bind(py).call_method1(intern!(py, "envelopes"), (resource, scope))?;
        let (rh, rt, sh, st): (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) = found.extract()?;
        let r = match resources.iter().position(|g| g.envelope.head == rh && g.envelope.tail == rt) {
            Some(r) => r,
            None => {
                resources.push(ResourceGroup { envelope: Envelope { head: rh, tail: rt }, scopes: Vec::new() });
                resources.len() - 1
            }
        };
        let scopes = &mut resources[r].scopes;
        let s = match scopes.iter().position(|g| g.envelope.head == sh && g.envelope.tail == st) {
            Some(s) => s,
            None => {
                scopes.push(ScopeGroup { envelope: Envelope { head: sh, tail: st }, spans: Vec::new() });
                scopes.len() - 1
            }
        };
        Ok((r, s))
    }

    /// A `LeanSpan`'s `Span` message into `out`; false (or an error) for one the Python encoder is to write.
    fn lean_body(&self, py: Python, span: &Bound<PyAny>, out: &mut Vec<u8>) -> PyResult<bool> {
        let (events, links) = (span.getattr(intern!(py, "_events"))?, span.getattr(intern!(py, "_links"))?);
        if !is_empty_tuple(&events) || !is_empty_tuple(&links) {
            return Ok(false);
        }
        // A SpanContext is a tuple: (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid).
        let context = span.getattr(intern!(py, "_context"))?;
        let context = context.cast::<PyTuple>()?;
        if !context.get_item(4)?.is(self.default_trace_state.bind(py)) {
            return Ok(false);
        }
        let trace_id: u128 = context.get_item(0)?.extract()?;
        let span_id: u64 = context.get_item(1)?.extract()?;
        out.extend_from_slice(&[0x0a, 0x10]);
        out.extend_from_slice(&trace_id.to_be_bytes());
        out.extend_from_slice(&[0x12, 0x08]);
        out.extend_from_slice(&span_id.to_be_bytes());
        let parent = span.getattr(intern!(py, "_parent"))?;
        let mut remote = false;
        if !parent.is_none() {
            let parent = parent.cast::<PyTuple>()?;
            out.extend_from_slice(&[0x22, 0x08]);
            out.extend_from_slice(&parent.get_item(1)?.extract::<u64>()?.to_be_bytes());
            remote = parent.get_item(2)?.is_truthy()?;
        }
        let name = span.getattr(intern!(py, "_name"))?;
        let name = name.cast::<PyString>()?.to_str()?;
        if !name.is_empty() {
            bytes_field(out, 0x2a, name.as_bytes());
        }
        let Some(kind) = member_value(&self.kinds, &span.getattr(intern!(py, "_kind"))?) else { return Ok(false) };
        out.push(0x30);
        varint(out, kind + 1); // OTLP's SpanKind is the API's shifted by one (its 0 is UNSPECIFIED)
        for (tag, name) in [(0x39, intern!(py, "_start_time")), (0x41, intern!(py, "_end_time"))] {
            let time: Option<u64> = span.getattr(name)?.extract()?;
            if let Some(time) = time.filter(|&t| t != 0) {
                out.push(tag);
                out.extend_from_slice(&time.to_le_bytes());
            }
        }
        let attributes = span.getattr(intern!(py, "_attributes"))?;
        let attributes = attributes.cast_exact::<PyDict>()?;
        let mut value = Vec::with_capacity(64);
        for (key, item) in attributes.iter() {
            value.clear();
            let key = key.cast_exact::<PyString>()?.to_str()?;
            if !any_value(&item, &mut value)? {
                return Ok(false);
            }
            let key_field = if key.is_empty() { 0 } else { 1 + varint_len(key.len()) + key.len() };
            out.push(0x4a);
            varint(out, (key_field + 1 + varint_len(value.len()) + value.len()) as u64);
            if !key.is_empty() {
                bytes_field(out, 0x0a, key.as_bytes());
            }
            bytes_field(out, 0x12, &value);
        }
        let dropped: u64 = span.getattr(intern!(py, "_dropped_attributes"))?.extract()?;
        if dropped != 0 {
            out.push(0x50);
            varint(out, dropped);
        }
        if !self.status(py, &span.getattr(intern!(py, "_status"))?, out)? {
            return Ok(false);
        }
        out.extend_from_slice(&[0x85, 0x01]);
        out.extend_from_slice(&(if remote { REMOTE_PARENT } else { LOCAL_PARENT }).to_le_bytes());
        Ok(true)
    }

    /// A span's status (field 15, present even when unset, as the SDK sends it); false for a code not the API's.
    fn status(&self, py: Python, status: &Bound<PyAny>, out: &mut Vec<u8>) -> PyResult<bool> {
        if self.unset.lock().unwrap().as_ref().is_some_and(|unset| unset.is(status)) {
            out.extend_from_slice(&[0x7a, 0x00]);
            return Ok(true);
        }
        let Some(code) = member_value(&self.codes, &status.getattr(intern!(py, "status_code"))?) else { return Ok(false) };
        let description = status.getattr(intern!(py, "description"))?;
        let description = if description.is_none() { "" } else { description.cast::<PyString>()?.to_str()? };
        if code == 0 && description.is_empty() {
            let previous = self.unset.lock().unwrap().replace(status.clone().unbind());
            drop(previous); // outside the lock: a release may run Python code
        }
        let mut encoded = Vec::new();
        if !description.is_empty() {
            bytes_field(&mut encoded, 0x12, description.as_bytes());
        }
        if code != 0 {
            encoded.push(0x18);
            varint(&mut encoded, code);
        }
        bytes_field(out, 0x7a, &encoded);
        Ok(true)
    }
}

/// An `AnyValue` for a plain value (exactly str, bool, int, float) into `out`; false for any other.
fn any_value(value: &Bound<PyAny>, out: &mut Vec<u8>) -> PyResult<bool> {
    if let Ok(text) = value.cast_exact::<PyString>() {
        bytes_field(out, 0x0a, text.to_str()?.as_bytes());
    } else if let Ok(flag) = value.cast_exact::<PyBool>() {
        out.extend_from_slice(&[0x10, flag.is_true() as u8]);
    } else if let Ok(number) = value.cast_exact::<PyInt>() {
        out.push(0x18);
        varint(out, number.extract::<i64>()? as u64); // negative: ten bytes, two's complement, as protobuf writes it
    } else if let Ok(number) = value.cast_exact::<PyFloat>() {
        out.push(0x21);
        out.extend_from_slice(&number.value().to_le_bytes());
    } else {
        return Ok(false);
    }
    Ok(true)
}

fn is_empty_tuple(value: &Bound<PyAny>) -> bool {
    value.cast_exact::<PyTuple>().is_ok_and(|t| t.is_empty())
}

/// The value of an enum member among `members` (listed by value), by identity.
fn member_value(members: &[Py<PyAny>], member: &Bound<PyAny>) -> Option<u64> {
    members.iter().position(|m| m.is(member)).map(|i| i as u64)
}

#[pymodule]
fn mlotel_native(module: &Bound<PyModule>) -> PyResult<()> {
    module.add_class::<SpanRequestEncoder>()?;
    module.add_class::<prediction_ids::PredictionIdSigner>()
}
