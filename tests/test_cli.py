"""The `langproc` command as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.paths import SAMPLES


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANGPROC_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "langproc", *args],
        cwd=cwd,
        env={**clean, "LANGPROC_LOG_LEVEL": "WARNING", "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_process_a_text_file_offline(tmp_path: Path) -> None:
    result = _run(["process", str(SAMPLES / "fr-story.txt"), "--language", "fr"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout
    assert "LANGPROC_OPENAI_BASE_URL" in result.stdout, "skipped steps say how to enable them"
    assert (tmp_path / "var" / "langproc.db").exists()


def test_process_refuses_bad_input_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes("Ήταν".encode("utf-16"))
    result = _run(["process", str(bad), "--language", "el"], tmp_path)
    assert result.returncode == 1
    assert "UTF-8" in result.stdout


def test_migrate_reports_head(tmp_path: Path) -> None:
    result = _run(["migrate"], tmp_path, LANGPROC_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "database is at head" in result.stdout
