"""Request dependencies: the runtime, a committed-before-response session, and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import jwt
from fastapi import Depends, Request
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.engine import autocommit_scope
from langproc.errors import SigningKeysUnavailable, Unauthorized
from langproc.runtime import Runtime
from langproc.settings import AuthMode, Settings

LOCAL_OWNER = "local"
# The width of the `owner` columns; Supabase's user ids are 36-character UUIDs.
MAX_SUBJECT_CHARS = 255
# What a JWKS may sign with (Supabase uses ES256 or RS256); never a shared-secret algorithm.
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256", "ES384", "RS384", "PS256", "EdDSA")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns, before the response;
    a reader's for GET and HEAD, which never write."""
    runtime = get_runtime(request)
    factory = runtime.readers if request.method in ("GET", "HEAD") else runtime.sessions
    async with factory() as session, session.begin():
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for reads. On Postgres each statement runs on its own (autocommit): no BEGIN
    and COMMIT round trips around a GET; its statements read the steps before the results, and a
    step's results commit with its status, so an answer never shows a result without its step."""
    async with autocommit_scope(get_runtime(request).readers) as session:
        yield session


bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    auto_error=False,
    description="A Supabase access token; not needed when the server runs with LANGPROC_AUTH=none.",
)
query_token = APIKeyQuery(
    scheme_name="access_token",
    name="access_token",
    auto_error=False,
    description="The same JWT as a query parameter, for EventSource, which cannot send headers.",
)


def jwks_client(url: str) -> jwt.PyJWKClient:
    """A JWKS client that caches the key set and refetches it when a token names a new key."""
    # No per-key cache (it never expires, so a revoked key would stay trusted); the key set is
    # cached for 5 minutes, and a token with an unknown `kid` refetches it at most once a second,
    # so a rotated key is trusted at once while random `kid`s cannot flood the endpoint.
    return jwt.PyJWKClient(url, lifespan=300, cooldown_duration=1.0, timeout=5.0)


async def _runtime(request: Request) -> Runtime:
    # A coroutine, so that FastAPI does not hand it to a worker thread on every request.
    return get_runtime(request)


async def get_owner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The caller's user id: `sub` of a verified JWT, or a fixed local user without auth."""
    if "access_token" in request.query_params and credentials is None:
        settings = get_runtime(request).settings
        if settings.auth != AuthMode.NONE:
            raise Unauthorized(
                "?access_token= is accepted only on event streams: send the token as "
                "Authorization: Bearer <JWT>"
            )
    return await _owner(request, credentials, None)


async def get_stream_owner(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    access_token: Annotated[str | None, Depends(query_token)],
) -> str:
    """The caller of an event stream, which may also send its token as `?access_token=`
    (EventSource cannot send headers)."""
    return await _owner(request, credentials, access_token)


async def _owner(
    request: Request, credentials: HTTPAuthorizationCredentials | None, access_token: str | None
) -> str:
    settings = get_runtime(request).settings
    if settings.auth == AuthMode.NONE:
        return LOCAL_OWNER
    token = credentials.credentials if credentials is not None else access_token
    if not token and request.headers.get("authorization"):
        raise Unauthorized("the Authorization header must read `Bearer <JWT>`")
    if not token:
        raise Unauthorized(
            "missing credentials: send Authorization: Bearer <JWT> (or ?access_token= on streams)"
        )
    if settings.jwks_url:
        # Fetching the key set is blocking network I/O: off the event loop.
        claims = await anyio.to_thread.run_sync(_verify, request, settings, token)
    else:
        claims = _verify(request, settings, token)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized("the token's `sub` claim is empty: it does not name a user")
    if len(subject) > MAX_SUBJECT_CHARS or not subject.isprintable():
        raise Unauthorized(
            f"the token's `sub` claim is not a user id this service accepts: at most "
            f"{MAX_SUBJECT_CHARS} printable characters"
        )
    return subject


def _verify(request: Request, settings: Settings, token: str) -> dict[str, Any]:
    try:
        if settings.jwks_url:
            jwks: jwt.PyJWKClient = request.app.state.jwks
            signing_key = jwks.get_signing_key_from_jwt(token)
            # The key's own algorithm only: a token naming another one is refused, not tried.
            if signing_key.algorithm_name not in ASYMMETRIC_ALGORITHMS:
                raise Unauthorized(
                    f"the signing key {signing_key.key_id!r} has algorithm "
                    f"{signing_key.algorithm_name}; expected one of {ASYMMETRIC_ALGORITHMS}"
                )
            key: Any = signing_key.key
            algorithms = [signing_key.algorithm_name]
        elif settings.jwt_secret is not None:
            key = settings.jwt_secret.get_secret_value()
            algorithms = ["HS256"]
        else:
            raise Unauthorized("the server has LANGPROC_AUTH=jwt but no secret or JWKS URL")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWKClientConnectionError as exc:
        raise SigningKeysUnavailable(
            f"the signing keys cannot be fetched, try again shortly: {exc}"
        ) from exc
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired: sign in again") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized(f"the token's audience is not {settings.jwt_audience!r}") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthorized(
            "the token's signature does not verify: it was not signed by this server's issuer"
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized(f"the token has no `{exc.claim}` claim") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"the token is not valid: {exc}") from exc
    return claims


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
Owner = Annotated[str, Depends(get_owner)]
StreamOwner = Annotated[str, Depends(get_stream_owner)]
RuntimeDep = Annotated[Runtime, Depends(_runtime)]
