"""The TypeScript client in clients/typescript: its types are generated from the current OpenAPI
document, it and the Svelte store example type-check, and they work against a live server."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from langproc.api.app import create_app
from langproc.settings import Settings
from tests.paths import SAMPLES
from tests.processes import LangprocProcess

pytestmark = pytest.mark.slow
CLIENT = SAMPLES.parents[1] / "clients" / "typescript"
BIN = CLIENT / "node_modules" / ".bin"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=CLIENT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LangprocProcess]:
    root = tmp_path_factory.mktemp("ts-server")
    process = LangprocProcess("serve", {"LANGPROC_DATA_DIR": str(root)}, root / "serve.log")
    process.wait_healthy()
    yield process
    process.stop()


def test_generated_types_match_the_current_openapi_document(tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_app(Settings(_env_file=None)).openapi()))
    generated = tmp_path / "schema.d.ts"
    result = _run(str(BIN / "openapi-typescript"), str(document), "-o", str(generated))
    assert result.returncode == 0, result.stderr
    committed = (CLIENT / "src" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, (
        "clients/typescript/src/schema.d.ts is out of date: run `make client-types`"
    )


def test_client_and_svelte_example_type_check() -> None:
    result = _run(str(BIN / "tsc"), "--noEmit", "-p", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_client_drives_a_live_server(server: LangprocProcess) -> None:
    build = _run(str(BIN / "tsc"), "-p", ".")
    assert build.returncode == 0, build.stdout + build.stderr
    result = _run("node", "--test", "dist/test/", LANGPROC_URL=server.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
