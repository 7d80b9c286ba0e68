"""Prediction ids: signed tokens that carry what scoring a prediction needs.

An id is issued for every prediction (:meth:`PredictionIds.issue`) and comes
back later with the actual outcome (:mod:`mlotel.feedback`). It carries the
model, its version, the predicted label, the top-class confidence, the time it
was made and a nonce, and ends in a 128-bit keyed BLAKE2s tag over all
of them under a key the replicas share. Any replica or worker that holds the
key can therefore score feedback for a prediction another one made, with no
shared store and nothing held per prediction; a changed byte, or a key from
another deployment, fails the check.

The key comes from ``MLOTEL_FEEDBACK_KEY`` (any string; 32 random bytes, hex,
are plenty). Unset, each process generates its own and warns: feedback then
only scores on the process that made the prediction. ``mlotel-model-server``
generates one before it starts its workers, so they share it.

Layout (then URL-safe base64 without padding, ~70 characters for a short
model name)::

    version(1) | made_ms(8) | confidence float64(8) | nonce(8) | model \\0 version \\0 label | tag(16)

Version 2 signs with keyed BLAKE2s (a MAC by design, RFC 7693: the key is
hashed in as the first block, no HMAC construction needed); version 1 signed
with HMAC-SHA256 and is still opened, so that feedback for predictions made
before an upgrade scores within the join window. BLAKE2s
from the standard library's ``hashlib``, a copy of the keyed state per id:
~0.2 µs a tag against ~0.7 µs for a copied keyed ``hmac``, whose OpenSSL
context is allocated, copied and freed each time. Not ``itsdangerous``: its
JSON envelope costs ~10 µs per id, on a path that signs every row of every batch.
Where ``mlotel-native`` is installed (and ``MLOTEL_NATIVE`` is on), ids are
issued by its ``PredictionIdSigner`` (Rust): the same ids for about half
the instructions.

A batch's first nonce is drawn from the kernel, the others follow it, one
more each: unique, not secret. Never from a generator kept in the process: a
worker forked past Python's fork hooks (uWSGI calls ``fork()`` itself) would
repeat its parent's nonces, and the scorer takes a repeated nonce for a
replay. The Python signer draws with ``os.urandom``, which lets the GIL go
around its system call: in a server of many threads, one more wait for the
GIL a request. The native signer draws with the GIL held.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_logger = logging.getLogger(__name__)

_FORMAT = 2
_OPENED_FORMATS = (1, 2)  # 1: HMAC-SHA256, issued before 2026-12-06 (see the module docstring)
_HEADER = struct.Struct("<BqdQ")
_MAC_BYTES = 16
_LAST_NONCE = 2**64 - 1
# Separates this tag from any other use of the same key (BLAKE2's personalisation, at most 8 bytes).
_PERSON = b"mlot-id2"
# Standard base64 to its URL-safe alphabet, as base64.urlsafe_b64encode does, without its two Python calls.
_URLSAFE = bytes.maketrans(b"+/", b"-_")
# Bounds what a client can make the server decode: the longest model, version and label together.
MAX_ID_LENGTH = 1024


class FeedbackRefused(ValueError):
    """Feedback that cannot be scored; ``reason`` is a short code (counted), ``message`` says it in words."""

    def __init__(self, reason: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.reason, self.message, self.status = reason, message, status


@dataclass(frozen=True, slots=True)
class IssuedPrediction:
    """What an id says about its prediction."""

    model: str
    version: str
    label: str
    confidence: float
    made_at: float  # Unix time, seconds
    nonce: int  # tells apart two predictions that are otherwise the same; unique, not secret


def signing_key(configured: str) -> bytes:
    """The configured key (``MLOTEL_FEEDBACK_KEY``), or a fresh random one with a warning when it is unset."""
    if configured:
        return configured.encode()
    _logger.warning(
        "MLOTEL_FEEDBACK_KEY is unset: this process signs prediction ids with a key of its own, so feedback "
        "for its predictions is refused by any other replica or worker. Set the same key on all of them."
    )
    return secrets.token_bytes(32)


class PredictionIds:
    """Issues and opens prediction ids under one key."""

    def __init__(self, key: bytes, window_seconds: float, native: bool = True) -> None:
        self.window_seconds = window_seconds
        # BLAKE2s takes a key of at most 32 bytes and MLOTEL_FEEDBACK_KEY is any string: its SHA-256 is the key.
        # Keyed once and copied per id (a copy of the state, key block included).
        blake2s_key = hashlib.sha256(key).digest()
        self._keyed = hashlib.blake2s(key=blake2s_key, digest_size=_MAC_BYTES, person=_PERSON)
        # Format 1's: ids issued before an upgrade still score within the join window.
        self._keyed_v1 = hmac.new(key, digestmod=hashlib.sha256)
        self._native = _native_signer(blake2s_key) if native else None

    def _mac(self, payload: bytes) -> bytes:
        mac = (self._keyed if payload[0] == _FORMAT else self._keyed_v1).copy()
        mac.update(payload)
        return mac.digest()[:_MAC_BYTES]

    def issue(
        self, model: str, version: str, labels: Sequence[Any], confidences: Sequence[float], now: float | None = None
    ) -> list[str]:
        """One id per prediction of a batch."""
        made_ms = int((time.time() if now is None else now) * 1000)
        names = f"{model}\0{version}\0".encode()
        if self._native is not None:  # it draws the nonce itself (the module docstring)
            return self._native.issue(made_ms, names, labels, confidences)
        nonce = _first_nonce()  # the others follow it: unique within the batch, one draw a request
        keyed, pack, encode = self._keyed, _HEADER.pack, binascii.b2a_base64
        ids = []
        # _mac() and base64.urlsafe_b64encode() written out: three Python calls fewer an id.
        for label, confidence in zip(labels, confidences):
            payload = b"".join((pack(_FORMAT, made_ms, confidence, nonce), names, str(label).encode()))
            nonce = (nonce + 1) & _LAST_NONCE
            mac = keyed.copy()
            mac.update(payload)
            ids.append(encode(payload + mac.digest(), newline=False).translate(_URLSAFE).rstrip(b"=").decode())
        return ids

    def open(self, prediction_id: str, now: float | None = None) -> IssuedPrediction:
        """What the id says, once its signature and age are checked; :class:`FeedbackRefused` otherwise."""
        if len(prediction_id) > MAX_ID_LENGTH:
            raise FeedbackRefused("unknown_id", f"a prediction id is at most {MAX_ID_LENGTH} characters")
        try:
            raw = base64.urlsafe_b64decode(prediction_id + "=" * (-len(prediction_id) % 4))
        except (binascii.Error, ValueError):
            raise FeedbackRefused("unknown_id", "not a prediction id this service issued") from None
        if len(raw) < _HEADER.size + _MAC_BYTES or raw[0] not in _OPENED_FORMATS:
            raise FeedbackRefused("unknown_id", "not a prediction id this service issued")
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise FeedbackRefused("tampered_id", "prediction id fails its signature check (altered, or another key)")
        _, made_ms, confidence, nonce = _HEADER.unpack_from(payload)
        made_at = made_ms / 1000
        if (time.time() if now is None else now) - made_at > self.window_seconds:
            raise FeedbackRefused("expired_id", f"prediction is older than the join window of {self.window_seconds:g} s")
        model, version, label = payload[_HEADER.size :].decode().split("\0", 2)
        return IssuedPrediction(model, version, label, confidence, made_at, nonce)


def _first_nonce() -> int:
    """A batch's first nonce, from the kernel (the module docstring says why not from a generator of ours)."""
    return int.from_bytes(os.urandom(8), "little")


def _native_signer(blake2s_key: bytes) -> Any:
    """``mlotel_native``'s signer, the same ids for about half the instructions, where it is installed (the ``native`` extra)."""
    try:
        import mlotel_native
    except ImportError:
        return None
    signer = getattr(mlotel_native, "PredictionIdSigner", None)  # None in an mlotel-native from before 0.2
    return None if signer is None else signer(_FORMAT, blake2s_key, _PERSON, _MAC_BYTES)
