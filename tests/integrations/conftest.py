"""The throwaway environments, one directory per test session (uv's cache is what is kept)."""

import pytest


@pytest.fixture(scope="session")
def venvs(tmp_path_factory):
    return tmp_path_factory.mktemp("venvs")
