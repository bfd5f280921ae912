"""Every install is pinned and hash-checked, and the layer ships exactly what the tests run with."""

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from local.stack import ROOT

LOCKS = ["requirements-dev.lock", "requirements-checkov.lock", "requirements-uv.lock", "layers/common/requirements.lock"]


def entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a requirements or lock file, names normalised as pip does."""
    found: dict[str, tuple[str, list[str]]] = {}
    text = re.sub(r"\\\n", " ", path.read_text())  # a lock entry continues over lines ending in "\"
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            spec, *options = line.split()
            name, pinned = spec.split(";", 1)[0].split("==", 1)
            hashes = [option.removeprefix("--hash=") for option in options if option.startswith("--hash=")]
            found[re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()] = (pinned, hashes)
    return found


def pins(path: Path) -> dict[str, str]:
    return {name: pinned for name, (pinned, _) in entries(path).items()}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_package_of_every_lock_file_is_pinned_with_its_hashes(lock):
    locked = entries(ROOT / lock)
    assert locked
    for name, (_, hashes) in locked.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_every_install_the_makefiles_run_requires_hashes():
    commands = [
        line
        for makefile in ("Makefile", "layers/common/Makefile")
        for line in (ROOT / makefile).read_text().replace("\\\n", " ").splitlines()
        if re.search(r"pip (install|sync)\b", line) and not line.lstrip().startswith("#")
    ]
    assert len(commands) == 4  # uv into the venv, the venv, checkov's venv, the layer
    for command in commands:
        assert "--require-hashes" in command and ".lock" in command, command


def test_the_installer_is_the_one_the_dev_lock_pins():
    assert pins(ROOT / "requirements-uv.lock") == {"uv": pins(ROOT / "requirements-dev.lock")["uv"]}
    assert version("uv") == pins(ROOT / "requirements-uv.lock")["uv"]


def test_the_layers_pins_are_the_projects_and_the_installed_ones():
    layer, project = pins(ROOT / "layers/common/requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert {"boto3", "botocore", "aws-lambda-powertools", "urllib3", "wrapt"} <= set(layer)
    for name, pinned in layer.items():
        assert project.get(name) == pinned, name
        assert version(name) == pinned, f"{name}: the tests run {version(name)}, the layer ships {pinned}"


def test_every_direct_requirement_of_the_layer_is_pinned_the_same_way():
    layer = pins(ROOT / "layers/common/requirements.lock")
    for name, pinned in pins(ROOT / "layers/common/requirements.txt").items():
        assert layer.get(name) == pinned, name
