"""The deployment files name only commands and options the CLI has, and hold together."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib

import pytest
import typer

from langproc.cli import app
from langproc.settings import Settings
from tests.paths import SAMPLES

REPO = SAMPLES.parents[1]
COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]
FLY = tomllib.loads((REPO / "fly.toml").read_text())


def _dockerfile_cmd() -> list[str]:
    line = next(
        line for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")
    )
    return list(json.loads(line.removeprefix("CMD ")))


def _commands() -> list[list[str]]:
    named = [FLY["deploy"]["release_command"], *FLY["processes"].values()]
    documented = re.findall(
        r"^\s*(langproc [^\n#`]+)", (REPO / "docs" / "deploy.md").read_text(), re.M
    )
    return [shlex.split(command) for command in [*named, *documented]] + [_dockerfile_cmd()]


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_every_command_named_for_deployment_exists(argv: list[str]) -> None:
    assert argv[0] == "langproc"
    command = COMMANDS.get(argv[1])
    assert command is not None, f"`langproc {argv[1]}` is not a command"
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for flag in (arg.split("=")[0] for arg in argv[2:] if arg.startswith("--")):
        assert flag in known, f"`langproc {argv[1]}` has no option {flag}"


def test_the_app_group_serves_what_the_checks_probe() -> None:
    service = FLY["http_service"]
    assert service["processes"] == ["app"]
    assert "serve" in FLY["processes"]["app"]
    assert f"--port {service['internal_port']}" in FLY["processes"]["app"]
    assert {check["path"] for check in service["checks"]} <= {"/readyz", "/healthz"}


def test_machines_get_time_to_hand_work_back_before_they_are_killed() -> None:
    settings = Settings(_env_file=None)
    kill_timeout_s = int(FLY["kill_timeout"].removesuffix("s"))
    # uvicorn closes connections (grace + 5 s), then the executor's own grace runs.
    assert kill_timeout_s > 2 * settings.shutdown_grace_s + 5


def test_dockerfile_passes_hadolint() -> None:
    hadolint = REPO / ".venv" / "bin" / "hadolint"
    binary = str(hadolint) if hadolint.exists() else "hadolint"
    result = subprocess.run(
        [binary, "--config", str(REPO / ".hadolint.yaml"), str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_command_runs() -> None:
    argv = _dockerfile_cmd()
    help_text = subprocess.run(
        [sys.executable, "-m", "langproc", argv[1], "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert help_text.returncode == 0, help_text.stderr
