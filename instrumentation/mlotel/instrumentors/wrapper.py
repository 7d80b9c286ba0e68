"""The one wrapper every model-library instrumentor shares, and the table that drives it.

An instrumentor is a table of :class:`Wrapped` rows (module, ``Class.method``,
how the output becomes results, how many instances went in) and two
per-library defaults (a model's name, its serialised form for the
fingerprint; see :mod:`mlotel.instrumentors.identity`). Adding a library is
a subclass of :class:`ModelLibraryInstrumentor` with its table::

    class MyLibInstrumentor(ModelLibraryInstrumentor):
        _instruments = ("mylib >= 2, < 3",)
        table = (Wrapped("mylib.models", "Classifier.predict_proba", results.probabilities),)

What each wrapped call does, in order:

1. nothing but the call when telemetry is off or suppressed
   (``is_instrumentation_enabled()`` is false);
2. inside a prediction already under way (:func:`mlotel.recorder.current_prediction`:
   an outer wrapped call, a model-server instrumentor, or the user's own
   :meth:`~mlotel.PredictionRecorder.predict`), the call adds its results
   to that prediction if it has none yet, and records nothing else: one
   prediction per call a user makes;
3. otherwise it opens one through :class:`~mlotel.PredictionRecorder`, so the
   ``predict <model>`` span, ``ml.prediction.duration``, ``ml.batch.size``,
   ``ml.prediction.confidence`` and ``ml.predictions`` are exactly the
   recorder's. An exception is recorded and counted there, and re-raised.

Modules are wrapped when they are imported (a wrapt post-import hook), so an
instrumentor costs nothing at start-up and the library is never imported for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]  # not in its __all__
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from mlotel.config import TelemetryConfig
from mlotel.instrumentors.identity import Identities, class_name
from mlotel.instrumentors.results import Results
from mlotel.recorder import Prediction, PredictionRecorder, current_prediction

_logger = logging.getLogger(__name__)

ToResults = Callable[[Any, Any], "Results | None"]
BatchSize = Callable[[tuple, dict], int]


def always(model: Any, kwargs: dict) -> bool:
    return True


def rows_of_first_argument(args: tuple, kwargs: dict) -> int:
    """Instances in ``X`` (array, DataFrame, sparse matrix, list): its first dimension."""
    data = args[0] if args else next(iter(kwargs.values()), ())
    shape = getattr(data, "shape", None)
    return int(shape[0]) if shape else len(data)


@dataclass(frozen=True)
class Wrapped:
    """One row of an instrumentor's table: a method, and how its output becomes results."""

    module: str  # imported by the user's code, never by mlotel
    method: str  # "Class.method"
    results: ToResults
    batch_size: BatchSize = rows_of_first_argument
    # False for a call that is no prediction (a booster's call during training, margins, leaf indices): left plain.
    is_prediction: Callable[[Any, dict], bool] = always


def _add_results(prediction: Prediction, to_results: ToResults, model: Any, output: Any, outermost: bool) -> None:
    """Results that say more than the prediction's: confidences over labels alone; the outermost call's over an inner one's."""
    if prediction.confidences and not outermost:
        return
    try:
        found = to_results(model, output)
    except Exception:  # an output this adapter does not know: the prediction is kept, without results
        _logger.debug("no results from %s's output", type(model).__name__, exc_info=True)
        return
    if found is None:
        return
    labels, confidences = found
    if confidences or (not prediction.confidences and (outermost or not prediction.labels)):
        prediction.set_results(labels, confidences)


def prediction_wrapper(recorder: PredictionRecorder, identities: Identities, row: Wrapped) -> Callable[..., Any]:
    """The wrapt wrapper for one table row (see the module docstring)."""
    to_results, batch_size, is_prediction = row.results, row.batch_size, row.is_prediction

    def wrapper(wrapped: Callable[..., Any], model: Any, args: tuple, kwargs: dict) -> Any:
        if not recorder.enabled or not is_instrumentation_enabled() or not is_prediction(model, kwargs):
            return wrapped(*args, **kwargs)
        outer = current_prediction()
        if outer is not None:
            output = wrapped(*args, **kwargs)
            _add_results(outer, to_results, model, output, outermost=False)
            return output
        name, version = identities.of(model)
        with recorder.predict(name, version, batch_size=batch_size(args, kwargs)) as prediction:
            output = wrapped(*args, **kwargs)
            _add_results(prediction, to_results, model, output, outermost=True)  # type: ignore[arg-type]  # a Prediction when enabled
        return output

    return wrapper


class CheckedInstrumentor(BaseInstrumentor):
    """An instrumentor left out, under the launcher too, when its library is outside ``_instruments``."""

    _instruments: tuple[str, ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self._instruments

    def instrument(self, **kwargs: Any) -> None:
        # The launcher checks mlotel's own requirements, not the library this one wraps: check that here.
        if kwargs.pop("skip_dep_check", False):
            kwargs["raise_exception_on_conflict"] = True
        super().instrument(**kwargs)


class ModelLibraryInstrumentor(CheckedInstrumentor):
    """Wraps each row of ``table`` when its module is imported; ``uninstrument()`` restores the originals."""

    table: tuple[Wrapped, ...] = ()
    _active = False

    def default_name(self, model: Any) -> str:
        return class_name(model)

    def fingerprint(self, model: Any) -> bytes:
        """The fitted model's serialised form; pickle unless the library has a stable format of its own."""
        import pickle

        return pickle.dumps(model, protocol=5)

    def rows(self, module: ModuleType) -> Iterator[tuple[type, str, Wrapped]]:
        """``(class, method name, row)`` to wrap in a module just imported."""
        for row in self.table:
            if row.module == module.__name__:
                class_path, _, method = row.method.rpartition(".")
                owner: Any = module
                for part in class_path.split("."):
                    owner = getattr(owner, part)
                yield owner, method, row

    def _instrument(self, **kwargs: Any) -> None:
        config = kwargs.get("config") or TelemetryConfig.from_env()
        self._recorder = PredictionRecorder(config)
        self._identities = Identities(config, self.default_name, self.fingerprint)
        self._wrapped: dict[tuple[type, str], Any] = {}
        self._active = True  # before the hooks: a module already imported is wrapped at registration
        for module in sorted({row.module for row in self.table} | set(self.modules())):
            wrapt.register_post_import_hook(self._wrap_module, module)

    def modules(self) -> Iterable[str]:
        """Modules to watch besides the table's (a library whose rows are found by walking its classes)."""
        return ()

    def _wrap_module(self, module: ModuleType) -> None:
        if not self._active:
            return  # a hook registered before uninstrument(): wrapt cannot take it back
        for owner, method, row in self.rows(module):
            if (owner, method) not in self._wrapped:
                self._wrapped[(owner, method)] = vars(owner)[method]
                wrapt.wrap_function_wrapper(owner, method, prediction_wrapper(self._recorder, self._identities, row))

    def _uninstrument(self, **kwargs: Any) -> None:
        # Put back what was in the class's __dict__: opentelemetry's unwrap() reads the attribute
        # through the class, which turns a descriptor (scikit-learn's available_if) into a plain function.
        self._active = False
        for (owner, method), original in self._wrapped.items():
            setattr(owner, method, original)
        self._wrapped.clear()
