"""Dependencies whose private APIs rnncli uses are pinned to the minor versions tested here.

Keras' `_symbolic_build` and `reduce_per_replica` (distribute.py) and the LiteRT interpreter's op
listing (inference.py) are not public: any minor release may change them, so each of these
packages may only float over patch releases of the minor version this suite runs on.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib")
_PRIVATE_APIS_USED = ("tensorflow", "keras", "ai-edge-litert")


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return {req.name: req for req in map(Requirement, project["dependencies"])}


def test_the_installed_versions_are_the_pinned_ones():
    for name, requirement in _requirements().items():
        assert requirement.specifier.contains(version(name), prereleases=True), (name, version(name))


@pytest.mark.parametrize("name", _PRIVATE_APIS_USED)
def test_packages_whose_private_apis_are_used_float_over_patch_releases_only(name):
    specifier = _requirements()[name].specifier
    tested = Version(version(name))
    major, minor = tested.major, tested.minor
    assert specifier.contains(f"{major}.{minor}.0") and specifier.contains(f"{major}.{minor}.99")
    assert not specifier.contains(f"{major}.{minor + 1}.0") and not specifier.contains(f"{major + 1}.0.0")
    assert minor == 0 or not specifier.contains(f"{major}.{minor - 1}.99")
