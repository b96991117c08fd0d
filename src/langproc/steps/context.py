"""What a step is given: the source, its dependencies' outputs, and the provider ports."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from langproc.errors import PermanentError
from langproc.providers.ports import Providers, RunBlocking
from langproc.steps.models import Lemma

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    id: uuid.UUID
    language: str
    native_language: str
    kind: str
    text: str | None
    content_type: str | None
    # The learner's CEFR level: the level of the example sentences.
    level: str = "B1"


class BlobWriter(Protocol):
    """A stored file written piece by piece; `commit` returns its key, leaving discards it."""

    async def __aenter__(self) -> BlobWriter: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def write(self, data: bytes) -> None: ...

    async def commit(self, suffix: str = "") -> str: ...


class BlobAccess:
    """The blob operations a step may use (reading the upload, storing audio)."""

    def __init__(
        self,
        read_source: Callable[[], Awaitable[bytes]],
        store: Callable[[bytes, str], Awaitable[str]],
        writer: Callable[[], BlobWriter],
    ) -> None:
        self.read_source = read_source
        self.store = store
        self.writer = writer


class LemmaCatalog(Protocol):
    """Lemmas already described for a language, shared by all its documents."""

    async def described(
        self, language: str, keys: list[tuple[str, str]], *, by_llm: bool
    ) -> dict[tuple[str, str], Lemma]: ...


@dataclass(frozen=True)
class StepContext:
    source: Source
    providers: Providers
    outputs: Mapping[str, Mapping[str, Any] | None]
    blobs: BlobAccess
    run_blocking: RunBlocking
    lemmas: LemmaCatalog | None = None

    def output_of(self, step: str, model: type[M]) -> M | None:
        """The checkpointed output of dependency `step` (None when it was skipped without one)."""
        if step not in self.outputs:
            raise PermanentError(f"step input {step!r} is not a dependency of this step")
        raw = self.outputs[step]
        return None if raw is None else model.model_validate(raw)
