"""The load generator's traffic is what it claims: in-distribution rows are confident, OOD rows are not."""

import numpy as np
import pytest

from mlotel_model_server.loadgen import InstanceSource, check_loopback, main
from mlotel_model_server.models import load_models


@pytest.fixture(scope="module")
def served(settings):
    return load_models(settings.model_dir)


@pytest.mark.parametrize("model", ["iris", "digits"])
def test_out_of_distribution_rows_lower_the_confidence(served, model):
    described = {name: m.describe() for name, m in served.items()}
    source = InstanceSource(described, np.random.default_rng(1))
    _, normal = served[model].predict(np.asarray(source.normal(model, 200)))
    _, ood = served[model].predict(np.asarray(source.out_of_distribution(model, 200)))
    assert np.median(ood) < 0.7 < np.median(normal)


def test_load_goes_to_loopback_only_unless_allowed():
    check_loopback("http://127.0.0.1:8000")
    check_loopback("http://localhost:8000")
    with pytest.raises(SystemExit, match="not a loopback address"):
        check_loopback("http://10.1.2.3:8000")


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        main(["--rate", "0"])
