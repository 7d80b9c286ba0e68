"""Trains the scikit-learn model the servers serve and saves it as MLServer and BentoML users do
(``python train_iris.py <dir>``): iris, which scikit-learn ships, and a logistic regression."""

import sys
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def train() -> LogisticRegression:
    features, classes = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(features, classes)


if __name__ == "__main__":
    joblib.dump(train(), Path(sys.argv[1]) / "model.joblib")
