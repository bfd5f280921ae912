"""The layer ships exactly the package versions the tests run with."""

import re
from importlib.metadata import version

from local.stack import ROOT


def pins(path) -> dict[str, str]:
    """`name==version` lines of a requirements/constraints file, names normalised as pip does."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, pinned = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()] = pinned.strip()
    return found


def test_the_layers_pins_are_the_projects_and_the_installed_ones():
    layer, project = pins(ROOT / "layers/common/constraints.txt"), pins(ROOT / "constraints.txt")
    assert {"boto3", "botocore", "aws-lambda-powertools", "urllib3", "wrapt"} <= set(layer)
    for name, pinned in layer.items():
        assert project.get(name) == pinned, name
        assert version(name) == pinned, f"{name}: the tests run {version(name)}, the layer ships {pinned}"


def test_every_direct_requirement_of_the_layer_is_pinned_the_same_way():
    layer = pins(ROOT / "layers/common/constraints.txt")
    for name, pinned in pins(ROOT / "layers/common/requirements.txt").items():
        assert layer.get(name) == pinned, name
