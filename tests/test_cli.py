"""The `langproc` command as a user runs it: in-process on the embedded database, and against a
live server (with and without auth). Exit codes: 0 success, 1 failed/cancelled/refused, 2 usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_auth import SECRET, hs256
from tests.paths import SAMPLES
from tests.processes import LangprocProcess

pytestmark = pytest.mark.slow
UNKNOWN_ID = "3f0c8a2e-5b1d-4c47-9a8e-2d6f1b7c9e40"
COMMANDS = ["serve", "worker", "migrate", "process", "status", "list", "retry", "cancel", "openapi"]


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANGPROC_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "langproc", *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


class Cli:
    """Runs `langproc` in-process (no `server`) or against a server, with an optional token."""

    def __init__(self, cwd: Path, server: str | None = None, token: str | None = None) -> None:
        self.cwd, self.remote = cwd, []
        if server:
            self.remote += ["--server", server]
        if token:
            self.remote += ["--token", token]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        return _run([command, *rest, *self.remote], self.cwd)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LangprocProcess]:
    process = LangprocProcess(
        "serve", {"LANGPROC_DATA_DIR": str(tmp_path / "server")}, tmp_path / "serve.log"
    )
    process.wait_healthy()
    yield process
    process.stop()


@pytest.fixture(params=["in-process", "server"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    if request.param == "in-process":
        return Cli(tmp_path)
    return Cli(tmp_path, server=request.getfixturevalue("server").url)


def test_every_command_explains_itself(tmp_path: Path) -> None:
    overview = _run(["--help"], tmp_path)
    assert overview.returncode == 0
    assert "Exit codes" in overview.stdout
    for command in COMMANDS:
        assert command in overview.stdout
        help_text = _run([command, "--help"], tmp_path)
        assert help_text.returncode == 0, help_text.stderr
        assert "Usage: langproc" in help_text.stdout


def test_process_status_list_retry_cancel(cli: Cli) -> None:
    story = str(SAMPLES / "fr-story.txt")
    processed = cli(
        "process", story, "--language", "fr", "--native-language", "de", "--level", "A2", "--json"
    )
    assert processed.returncode == 0, processed.stderr
    body = _json(processed)
    assert body["status"] == "succeeded"
    assert body["native_language"] == "de"
    assert body["level"] == "A2"
    sid = body["id"]

    readable = cli("status", sid)
    assert readable.returncode == 0, readable.stderr
    assert "extract_words" in readable.stdout
    assert "succeeded" in readable.stdout
    assert _json(cli("status", sid, "--json"))["id"] == sid

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert sid in listed.stdout
    assert [item["id"] for item in _json(cli("list", "--json"))["items"]] == [sid]

    retried = cli("retry", sid, "--step", "extract_words", "--json")
    assert retried.returncode == 0, retried.stderr
    steps = {step["name"]: step["status"] for step in _json(retried)["steps"]}
    assert steps["extract_words"] in ("pending", "running", "succeeded")
    assert steps["describe_lemmas"] in ("pending", "running", "succeeded")

    cancelled = cli("cancel", sid, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert _json(cancelled)["status"] in ("cancelled", "succeeded")
    # A cancelled or failed sourcefile is exit code 1 for `status`, so scripts can tell.
    final = _json(cli("status", sid, "--json"))["status"]
    assert cli("status", sid).returncode == (1 if final == "cancelled" else 0)


def test_exit_codes_tell_refused_from_bad_usage(cli: Cli) -> None:
    unknown = cli("status", UNKNOWN_ID)
    assert unknown.returncode == 1
    assert f"404: no sourcefile with id {UNKNOWN_ID}" in unknown.stderr

    not_an_id = cli("status", "not-an-id")
    assert not_an_id.returncode == 2
    assert "valid UUID" in not_an_id.stderr

    bad_status = cli("list", "--status", "done")
    assert bad_status.returncode == 2
    assert "'succeeded'" in bad_status.stderr, "the message lists what is allowed"

    bad_level = cli("process", str(SAMPLES / "fr-story.txt"), "--language", "fr", "--level", "Z9")
    assert bad_level.returncode == 2
    assert "B1" in bad_level.stderr

    missing_option = cli("process", str(SAMPLES / "fr-story.txt"))
    assert missing_option.returncode == 2
    assert "--language" in missing_option.stderr


def test_process_refuses_bad_input_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes("Ήταν".encode("utf-16"))
    result = _run(["process", str(bad), "--language", "el"], tmp_path)
    assert result.returncode == 2
    assert "UTF-8" in result.stderr
    unknown_language = _run(
        ["process", str(SAMPLES / "fr-story.txt"), "--language", "xx"], tmp_path
    )
    assert unknown_language.returncode == 2
    assert "el" in unknown_language.stderr, "the message lists the supported languages"


def test_process_a_text_file_offline_says_how_to_enable_skipped_steps(tmp_path: Path) -> None:
    result = _run(["process", str(SAMPLES / "fr-story.txt"), "--language", "fr"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout
    assert "LANGPROC_OPENAI_BASE_URL" in result.stdout
    assert (tmp_path / "var" / "langproc.db").exists()


def test_token_reaches_a_server_with_auth(tmp_path: Path) -> None:
    env = {
        "LANGPROC_DATA_DIR": str(tmp_path / "server"),
        "LANGPROC_AUTH": "jwt",
        "LANGPROC_JWT_SECRET": SECRET,
    }
    process = LangprocProcess("serve", env, tmp_path / "serve.log")
    try:
        process.wait_healthy()
        without = Cli(tmp_path, server=process.url)("list")
        assert without.returncode == 1
        assert "401" in without.stderr
        with_token = Cli(tmp_path, server=process.url, token=hs256())("list", "--json")
        assert with_token.returncode == 0, with_token.stderr
        assert _json(with_token)["items"] == []
    finally:
        process.stop()


def test_unreachable_server_is_a_clear_refusal(tmp_path: Path) -> None:
    result = Cli(tmp_path, server="http://127.0.0.1:9")("list")
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in result.stderr


def test_migrate_reports_head(tmp_path: Path) -> None:
    result = _run(["migrate"], tmp_path, LANGPROC_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "database is at head" in result.stdout


def test_openapi_prints_the_document(tmp_path: Path) -> None:
    result = _run(["openapi"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "/api/sourcefiles" in _json(result)["paths"]
