"""Model libraries and model servers traced with no code: scikit-learn, XGBoost, LightGBM,
ONNX Runtime; KServe, MLServer, BentoML.

Usage, nothing in the user's code::

    pip install mlotel scikit-learn
    OTEL_SERVICE_NAME=my-model opentelemetry-instrument python serve.py

``opentelemetry-instrument`` finds each instrumentor through the
``opentelemetry_instrumentor`` entry point (``mlotel_sklearn``,
``mlotel_xgboost``, ``mlotel_lightgbm``, ``mlotel_onnxruntime``); one whose
library is missing or outside the versions in its ``_instruments`` is left
out. Each call of a wrapped method then gives what
:class:`~mlotel.PredictionRecorder` gives: the ``predict <model>`` span,
``ml.prediction.duration``, ``ml.batch.size``, and, where the output has
them, ``ml.prediction.confidence`` and ``ml.predictions`` by label.

One prediction per call a user makes: a call inside another wrapped call (a
pipeline's final step, ``predict`` calling ``predict_proba``), or inside a
prediction opened by a model-server instrumentor or by the user's own
recorder, adds its labels and confidences to that prediction if it has none,
and opens no other.

Model name and version: see :mod:`mlotel.instrumentors.identity` (defaults:
class name and a fingerprint of the fitted model; ``MLOTEL_MODEL_NAME``,
``MLOTEL_MODEL_VERSION``, or ``model.mlotel_model_name`` /
``model.mlotel_model_version`` set on the model).

Switches: ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=mlotel_sklearn`` (or
another's name) leaves one library alone; ``mlotel`` there, or
``OTEL_SDK_DISABLED=true``, makes every wrapped call a plain call.

Model servers (``mlotel_kserve``, ``mlotel_mlserver``, ``mlotel_bentoml``;
docs/model-servers.md): each request is one prediction, opened by the
server's instrumentor around the server's inference call with the model name
and version the server knows (:mod:`mlotel.instrumentors.serving`); the model
library's call inside adds its results to it. To wrap a library, see
:mod:`mlotel.instrumentors.wrapper` (a table of :class:`Wrapped` rows).
"""

from mlotel.instrumentors.wrapper import ModelLibraryInstrumentor, Wrapped, prediction_wrapper
from mlotel.recorder import current_prediction

__all__ = ["ModelLibraryInstrumentor", "Wrapped", "current_prediction", "prediction_wrapper"]
