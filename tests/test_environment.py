"""environment.yml (conda) and pyproject.toml list the same packages."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pyyaml": "pyyaml", "dask[distributed]": ("dask", "distributed")}


def _split(req: str):
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    expected = {}
    for r in reqs:
        name, spec = _split(r)
        conda = CONDA_NAMES.get(name, name)
        for n in (conda if isinstance(conda, tuple) else (conda,)):
            expected[n] = spec
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            name, spec = _split(dep)
            listed[name] = spec
    assert listed == expected


def _lock() -> dict:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_the_lock_pins_every_dependency_within_what_pyproject_allows():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    pins = _lock()
    for r in reqs:
        name, spec = _split(r.split("#")[0])
        for n in ((name.split("[")[0],) + (("distributed",) if name == "dask[distributed]" else ())):
            key = re.sub(r"[-_.]+", "-", n)
            assert key in pins, f"{n} is not in requirements.lock; run make lock"
            assert Version(pins[key]) in SpecifierSet(spec), f"{n}=={pins[key]} is outside pyproject's {spec}"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in pins.values())  # exact versions only


def test_a_run_records_what_was_installed():
    from actuarial.runs import environment

    env = environment()
    assert env["installed"]["numpy"] == env["packages"]["numpy"]
    assert len(env["installed"]) >= len(_lock()) and len(env["lock_sha256"]) == 64
