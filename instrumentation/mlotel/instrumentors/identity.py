"""A model's ``ml.model.name`` and ``ml.model.version`` when no code gives them.

For each model object, at its first prediction, the first of:

- name: the model's ``mlotel_model_name`` attribute, ``MLOTEL_MODEL_NAME``,
  the library's default (its class name; a scikit-learn ``Pipeline``'s final
  step's; an ONNX graph's name);
- version: the model's ``mlotel_model_version`` attribute,
  ``MLOTEL_MODEL_VERSION``, a fingerprint of the fitted model (the first 12
  hex digits of the SHA-256 of its serialised form: the same for the same
  fitted model in any process, another after a refit and reload).

Both are computed once per model object and kept beside it (a weak
reference, so a model dropped is forgotten): the attributes are read at the
first prediction, and a model refitted in place keeps its first fingerprint.
A model that cannot be fingerprinted (it will not serialise) is version
``unknown``; one that cannot be weakly referenced is named per call without
a fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Callable
from typing import Any

from mlotel.config import TelemetryConfig

_logger = logging.getLogger(__name__)

NAME_ATTRIBUTE = "mlotel_model_name"
VERSION_ATTRIBUTE = "mlotel_model_version"
UNKNOWN_VERSION = "unknown"
FINGERPRINT_HEX_DIGITS = 12


class Identities:
    """Name and version per model object, computed once, with one library's defaults."""

    def __init__(
        self, config: TelemetryConfig, default_name: Callable[[Any], str], fingerprint: Callable[[Any], bytes]
    ) -> None:
        self._config = config
        self._default_name = default_name
        self._fingerprint = fingerprint
        self._known: weakref.WeakKeyDictionary[Any, tuple[str, str]] = weakref.WeakKeyDictionary()

    def of(self, model: Any) -> tuple[str, str]:
        """``(name, version)`` of this model object."""
        try:
            known = self._known.get(model)
        except TypeError:  # no weak reference to it: named each call, never fingerprinted per call
            return self._name(model), self._explicit_version(model) or UNKNOWN_VERSION
        if known is None:
            known = self._name(model), self._explicit_version(model) or self._fingerprinted(model)
            self._known[model] = known
        return known

    def _name(self, model: Any) -> str:
        return str(getattr(model, NAME_ATTRIBUTE, None) or self._config.model_name or self._default_name(model))

    def _explicit_version(self, model: Any) -> str | None:
        explicit = getattr(model, VERSION_ATTRIBUTE, None) or self._config.model_version
        return None if explicit is None else str(explicit)

    def _fingerprinted(self, model: Any) -> str:
        try:
            serialised = self._fingerprint(model)
        except Exception as exc:  # telemetry never breaks the app: the prediction goes on, version unknown
            _logger.debug("could not fingerprint %s: %s", type(model).__name__, exc)
            return UNKNOWN_VERSION
        return hashlib.sha256(serialised).hexdigest()[:FINGERPRINT_HEX_DIGITS]


def class_name(model: Any) -> str:
    return type(model).__name__
