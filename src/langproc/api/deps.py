"""Request dependencies: the runtime, a committed-before-response session, and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import jwt
from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.errors import Unauthorized
from langproc.runtime import Runtime
from langproc.settings import AuthMode

LOCAL_OWNER = "local"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns, before the response."""
    async with get_runtime(request).sessions() as session, session.begin():
        yield session


def get_owner(
    request: Request,
    access_token: Annotated[
        str | None, Query(description="JWT for EventSource, which cannot send headers.")
    ] = None,
) -> str:
    """The caller's user id: `sub` of a verified JWT, or a fixed local user without auth."""
    runtime = get_runtime(request)
    settings = runtime.settings
    if settings.auth == AuthMode.NONE:
        return LOCAL_OWNER
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else access_token
    if not token:
        raise Unauthorized("missing credentials: send Authorization: Bearer <JWT>")
    try:
        if settings.jwks_url:
            key = request.app.state.jwks.get_signing_key_from_jwt(token).key
            algorithms = ["RS256", "ES256"]
        elif settings.jwt_secret is not None:
            key = settings.jwt_secret.get_secret_value()
            algorithms = ["HS256"]
        else:
            raise Unauthorized("the server has LANGPROC_AUTH=jwt but no secret or JWKS URL")
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired: sign in again") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized(f"the token's audience is not {settings.jwt_audience!r}") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"the token is not valid: {exc}") from exc
    return str(claims["sub"])


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
Owner = Annotated[str, Depends(get_owner)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
