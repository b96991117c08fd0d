"""The fake OpenAI-compatible server for the pipeline tests that run the real providers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(samples_dir=SAMPLES) as fake:
        yield fake
