//! Prediction ids, signed natively: `mlotel.prediction_ids.PredictionIds.issue`, for less CPU on every request.
//!
//! The same bytes as the Python signer (the reference, `tests/unit/instrumentation/test_prediction_ids_native.py`
//! runs both): version, time and confidence, the nonce, `model \0 version \0 label`, then a keyed BLAKE2s
//! tag, the whole in URL-safe base64 without padding. The Python side keys it and opens ids; this only
//! issues them. A batch's first nonce is drawn here from the kernel (`getrandom`) with the GIL held, the
//! others follow it, one more each: random in every process however it was forked, and no wait for the
//! GIL again, which `os.urandom` costs the Python signer on every request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blake2s_simd::{Params, State};
use pyo3::prelude::*;

#[pyclass(frozen, module = "mlotel_native")]
pub struct PredictionIdSigner {
    /// Keyed once (the key block hashed in); cloned per id, as the Python signer copies its hashlib state.
    keyed: State,
    format: u8,
}

#[pymethods]
impl PredictionIdSigner {
    #[new]
    fn new(format: u8, key: &[u8], person: &[u8], tag_bytes: usize) -> PyResult<Self> {
        if key.len() > 32 || person.len() > 8 || !(1..=32).contains(&tag_bytes) {
            return Err(pyo3::exceptions::PyValueError::new_err("BLAKE2s takes a key of at most 32 bytes, a personalisation of at most 8 and a tag of 1 to 32"));
        }
        let keyed = Params::new().hash_length(tag_bytes).key(key).personal(person).to_state();
        Ok(Self { keyed, format })
    }

    /// One id per (label, confidence) pair, as far as the shorter of the two goes (Python's `zip`);
    /// `first_nonce` drawn from the kernel when not given (tests give it, to compare with the Python signer).
    #[pyo3(signature = (made_ms, names, labels, confidences, first_nonce=None))]
    fn issue(&self, made_ms: i64, names: &[u8], labels: &Bound<PyAny>, confidences: &Bound<PyAny>, first_nonce: Option<u64>) -> PyResult<Vec<String>> {
        let mut ids = Vec::new();
        let mut payload = Vec::with_capacity(64);
        let mut nonce = match first_nonce {
            Some(nonce) => nonce,
            None => getrandom::u64().map_err(|error| pyo3::exceptions::PyOSError::new_err(format!("no random nonce: {error}")))?,
        };
        for (label, confidence) in labels.try_iter()?.zip(confidences.try_iter()?) {
            let (label, confidence) = (label?, confidence?);
            payload.clear();
            payload.push(self.format);
            payload.extend_from_slice(&made_ms.to_le_bytes());
            payload.extend_from_slice(&confidence.extract::<f64>()?.to_le_bytes());
            payload.extend_from_slice(&nonce.to_le_bytes());
            payload.extend_from_slice(names);
            payload.extend_from_slice(label.str()?.to_str()?.as_bytes());
            let tag = self.keyed.clone().update(&payload).finalize();
            payload.extend_from_slice(tag.as_bytes());
            ids.push(URL_SAFE_NO_PAD.encode(&payload));
            nonce = nonce.wrapping_add(1);
        }
        Ok(ids)
    }
}
