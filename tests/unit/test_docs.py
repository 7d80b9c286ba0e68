"""The README documents every variable that environment_variables.py declares, and no other."""

import re
from pathlib import Path

from instrumentation import environment_variables

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_lists_exactly_the_declared_variables():
    declared = {name for name in vars(environment_variables) if name.isupper()}
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.M))
    assert table == declared


def test_each_declared_variable_is_named_after_itself_and_documented():
    source = (ROOT / "instrumentation" / "environment_variables.py").read_text()
    for name in (n for n in vars(environment_variables) if n.isupper()):
        assert getattr(environment_variables, name) == name
        assert re.search(rf'^{name} = "{name}"\n"""', source, re.M), f"{name} has no docstring"
