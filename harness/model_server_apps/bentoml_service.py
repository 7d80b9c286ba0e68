"""A BentoML service as its users write one: the model from BentoML's model store, an API taking
rows of features. Nothing of mlotel in it. Served with ``bentoml serve bentoml_service:IrisClassifier``."""

import bentoml
import numpy as np


@bentoml.service(name="iris_classifier")
class IrisClassifier:
    model_ref = bentoml.models.BentoModel("iris:latest")

    def __init__(self) -> None:
        self.model = bentoml.sklearn.load_model(self.model_ref)

    @bentoml.api
    def classify(self, instances: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(instances)
