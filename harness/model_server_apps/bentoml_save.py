"""Saves the iris model into BentoML's model store (``BENTOML_HOME``), as a BentoML user does
before serving it; prints its tag."""

import bentoml
from train_iris import train

if __name__ == "__main__":
    print(bentoml.sklearn.save_model("iris", train()).tag)
