"""The course's plumbing: packaging, conventions, the CLI, and that broken notebooks fail CI."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest
import torch
import yaml

from tlcourse import runtime
from tlcourse.course import lesson_paths, parse_param

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_installs_what_pyproject_declares():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in conda if d.startswith("python="))
    major, minor = python.split("=")[1].split(".")[:2]
    assert (int(major), int(minor)) >= (3, 10) and project["requires-python"] == ">=3.10"
    # conda provides only python and pip; every package comes from pyproject through pip
    assert sorted(conda) == sorted([python, "pip"]), f"unexpected conda packages: {conda}"
    assert pip == ["-e .[dev]"], "environment.yml must install the package with its dev extra"
    assert "dev" in project["optional-dependencies"]


def test_every_declared_dependency_is_installed():
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name = re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]
        assert metadata.version(name), name


def test_seed_everything_repeats_a_run():
    runtime.seed_everything(7)
    a = torch.rand(5), torch.randn(2, 2)
    runtime.seed_everything(7)
    b = torch.rand(5), torch.randn(2, 2)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    runtime.seed_everything(8)
    assert not torch.equal(torch.rand(5), a[0])


def test_device_choice_can_be_forced(monkeypatch):
    monkeypatch.setenv("TLCOURSE_DEVICE", "cpu")
    assert runtime.get_device().type == "cpu"
    assert runtime.get_device("cpu").type == "cpu"


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "c"))
    assert runtime.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_progress_can_be_silenced(monkeypatch, capsys):
    monkeypatch.setenv("TLCOURSE_PROGRESS", "0")
    assert sum(runtime.progress(range(10), desc="x")) == 45
    assert "x" not in capsys.readouterr().err


def test_cli_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "tlcourse.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("doctor", "pretrain"):
        assert command in out.stdout


def test_doctor_answers_quickly_without_network():
    env = dict(os.environ, TLCOURSE_PROGRESS="0")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tlcourse.cli", "doctor"], capture_output=True, text=True,
                         env=env, timeout=60)
    took = time.perf_counter() - start
    assert "online options" in out.stdout and "device" in out.stdout
    assert took < 10, f"doctor took {took:.1f}s"


def test_course_parameters_parse_as_literals():
    assert parse_param("sizes=[5, 20]") == ("sizes", [5, 20])
    assert parse_param("name=letters") == ("name", "letters")
    assert parse_param("quick=False") == ("quick", False)


def test_notebooks_are_clean_and_parametrised():
    paths = lesson_paths()
    assert paths and paths[0].name == "00_start_here.ipynb"
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: commit without outputs"
