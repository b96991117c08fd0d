"""503 answers for a database that is down, restarting, overloaded or not migrated (docs/api.md).

Database errors that say nothing about availability (a constraint, a bug) are not caught here:
they stay the 500s they are.
"""

from __future__ import annotations

import socket

import asyncpg
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa

# How long a client should wait before it tries again (seconds).
RETRY_AFTER_S = 5
# SQLSTATEs of a server that cannot serve now: connection exceptions (class 08), too many
# connections, shutdown or start-up in progress, and the class of insufficient resources.
_UNAVAILABLE_STATES = ("08", "53", "57P01", "57P02", "57P03")
# A schema that is older than the code: undefined table, column or function.
_UNMIGRATED_STATES = ("42P01", "42703", "42883")
_UNMIGRATED_SQLITE = ("no such table", "no such column")

UNAVAILABLE = "the database is unavailable: try again in a few seconds"
UNMIGRATED = (
    "the database schema is not up to date: the operator must run `langproc migrate`; "
    "try again in a few seconds"
)

# The exception classes the handler is registered for; `unavailable_reason` sorts them out.
HANDLED: tuple[type[Exception], ...] = (
    sa.DBAPIError,
    sa.TimeoutError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def _sqlstate(exc: BaseException) -> str:
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return ""


def unavailable_reason(exc: BaseException) -> str | None:
    """What to tell the client when `exc` means the database cannot serve now; else None."""
    state = _sqlstate(exc)
    if state.startswith(_UNMIGRATED_STATES):
        return UNMIGRATED
    if isinstance(exc, sa.OperationalError) and str(exc.orig).startswith(_UNMIGRATED_SQLITE):
        return UNMIGRATED
    if state.startswith(_UNAVAILABLE_STATES):
        return UNAVAILABLE
    if isinstance(exc, sa.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa.OperationalError | sa.InterfaceError):
            return UNAVAILABLE
        return None
    # Raised while connecting, before SQLAlchemy wraps anything, or by the pool.
    if isinstance(exc, sa.TimeoutError | ConnectionError | TimeoutError | socket.gaierror):
        return UNAVAILABLE
    if isinstance(exc, asyncpg.InterfaceError):  # a connection closed under us
        return UNAVAILABLE
    return None


def unavailable_response(message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": message}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )


async def database_error(_request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After for an unavailable database; anything else stays an error."""
    reason = unavailable_reason(exc)
    if reason is None:
        raise exc
    return unavailable_response(reason)
