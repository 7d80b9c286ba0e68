"""A KServe model server as its users write one: a ``kserve.Model`` around a scikit-learn model,
with its own preprocess, started by ``kserve.ModelServer``. Nothing of mlotel in it."""

import kserve
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


class Iris(kserve.Model):
    def __init__(self, name: str):
        super().__init__(name)
        self.load()

    def load(self) -> bool:
        features, classes = load_iris(return_X_y=True)
        self.model = LogisticRegression(max_iter=500).fit(features, classes)
        self.ready = True
        return self.ready

    async def preprocess(self, payload, headers=None):
        return [[float(x) for x in row] for row in payload["instances"]]

    def predict(self, instances, headers=None):
        return {"predictions": self.model.predict_proba(instances).tolist()}


if __name__ == "__main__":
    kserve.ModelServer().start([Iris("iris")])
