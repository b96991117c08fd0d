"""What a database error means for the work that met it: worth retrying at once, or final."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# serialization failure, deadlock, lock not available, statement timeout, server shutting down,
# too many connections.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03"})
TRANSIENT_SQLSTATE_CLASSES = ("08", "53")  # connection exceptions, insufficient resources


def is_transient(exc: BaseException) -> bool:
    """A lock, deadlock, serialization or connection error: the same write may pass if retried."""
    if isinstance(exc, PoolTimeout | ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if isinstance(code, str):
        return code in TRANSIENT_SQLSTATES or code.startswith(TRANSIENT_SQLSTATE_CLASSES)
    # SQLite ("database is locked") and drivers that lost their connection carry no SQLSTATE.
    return isinstance(exc, OperationalError | InterfaceError)


def message(exc: BaseException) -> str:
    """The database's own message, without the driver's class names and SQL."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause = exc.orig.__cause__ or exc.orig
        return str(cause).strip() or type(cause).__name__
    return str(exc).strip() or type(exc).__name__
