"""Step specifications and the dependency graph they form."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.steps.context import StepContext

StepFn = Callable[[StepContext], Awaitable[BaseModel]]
# A step's checkpointed output, None for a step reset by a retry.
Output = dict[str, Any] | None


class SourcefileKey(Protocol):
    """What storing results needs of a sourcefile: a row of the engine's or an ORM instance."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def language(self) -> str: ...


# Replaces a sourcefile's result rows of one step with `output`'s; None clears them (a reset).
StoreFn = Callable[[AsyncSession, SourcefileKey, Output], Awaitable[None]]


@dataclass(frozen=True)
class StepSpec:
    """A step: its function, the steps it needs, a timeout, whether transient errors retry, and
    where its results go besides the checkpoint (`store`, run in the checkpoint transaction)."""

    name: str
    run: StepFn
    needs: tuple[str, ...] = ()
    timeout_s: float = 600.0
    retryable: bool = True
    store: StoreFn | None = None


class Graph:
    """A validated DAG of steps, kept in topological order."""

    def __init__(self, specs: Iterable[StepSpec]) -> None:
        self._specs: dict[str, StepSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"step {spec.name!r} registered twice")
            missing = [n for n in spec.needs if n not in self._specs]
            if missing:
                raise ValueError(f"step {spec.name!r} needs {missing} registered before it")
            self._specs[spec.name] = spec

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def __getitem__(self, name: str) -> StepSpec:
        return self._specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def downstream(self, names: Iterable[str]) -> list[str]:
        """`names` and every step that depends on them, transitively, in topological order."""
        selected = set(names)
        for spec in self._specs.values():
            if any(n in selected for n in spec.needs):
                selected.add(spec.name)
        return [n for n in self._specs if n in selected]
