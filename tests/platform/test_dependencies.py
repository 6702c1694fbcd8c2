"""The lock files: every dependency pyproject.toml names is pinned there with its hashes, the
runtime lock and the dev lock agree, the tests run against exactly the locked versions, and
`make install` and the image install from the lock with hashes checked."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> str:
        (spec,) = self.requirement.specifier
        return spec.version


def _pins(path: Path) -> dict[str, Pin]:
    """The lock's requirements by canonical name: continuation lines joined, comments dropped."""
    text = path.read_text().replace("\\\n", " ")
    pins: dict[str, Pin] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split(" --")
        requirement = Requirement(spec)
        hashes = tuple(o.strip().removeprefix("hash=") for o in options if o.startswith("hash="))
        pins[canonicalize_name(requirement.name)] = Pin(requirement, hashes)
    return pins


def _pyproject() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}


@pytest.mark.parametrize(("group", "lock"), [("runtime", RUNTIME_LOCK), ("dev", DEV_LOCK)])
def test_every_dependency_of_pyproject_is_pinned_within_its_range(group: str, lock: Path) -> None:
    pins = _pins(lock)
    wanted = _pyproject()["runtime"] + (_pyproject()["dev"] if group == "dev" else [])
    out_of_range = []
    for line in wanted:
        requirement = Requirement(line)
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pin.version, prereleases=True):
            out_of_range.append((line, pin.version if pin else None))
    assert out_of_range == [], f"run `make lock`: {out_of_range}"


def test_every_pin_is_one_exact_version_with_sha256_hashes() -> None:
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        pins = _pins(lock)
        assert len(pins) > 50, lock.name
        for name, pin in pins.items():
            assert str(pin.requirement.specifier).startswith("=="), (lock.name, name)
            assert pin.hashes, (lock.name, name)
            assert all(h.startswith("sha256:") and len(h) == 71 for h in pin.hashes), name


def test_the_dev_lock_holds_the_runtime_lock_at_the_same_versions() -> None:
    runtime, dev = _pins(RUNTIME_LOCK), _pins(DEV_LOCK)
    differ = [
        name
        for name, pin in runtime.items()
        if name not in dev or str(dev[name].requirement) != str(pin.requirement)
    ]
    assert differ == []


def test_the_tests_run_against_the_locked_versions() -> None:
    """Every locked package this interpreter and platform need is installed at its pin: a
    package upgraded by hand, or added to pyproject.toml without `make lock`, shows here."""
    wrong = []
    for name, pin in _pins(DEV_LOCK).items():
        marker = pin.requirement.marker
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pin.version:
            wrong.append((name, pin.version, installed))
    assert wrong == [], "reinstall with `make install`: (package, locked, installed)"


def test_make_install_and_the_image_install_from_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements-dev.lock" in makefile
    assert "pip install -q --no-deps -e ." in makefile
    assert "$(STAMP): requirements-dev.lock" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
