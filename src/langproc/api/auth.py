"""Who sent a request: JWT verification with an HS256 secret or a JWKS of asymmetric keys, and
the user id a verified token names. No FastAPI here; `api.deps` reads the token off the request."""

from __future__ import annotations

from typing import Any

import anyio
import jwt

from langproc.errors import SigningKeysUnavailable, Unauthorized
from langproc.settings import Settings

# The width of the `owner` columns; Supabase's user ids are 36-character UUIDs.
MAX_SUBJECT_CHARS = 255
# What a JWKS may sign with (Supabase uses ES256 or RS256); never a shared-secret algorithm.
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256", "ES384", "RS384", "PS256", "EdDSA")


def jwks_client(url: str) -> jwt.PyJWKClient:
    """A JWKS client that caches the key set and refetches it when a token names a new key."""
    # No per-key cache (it never expires, so a revoked key would stay trusted); the key set is
    # cached for 5 minutes, and a token with an unknown `kid` refetches it at most once a second,
    # so a rotated key is trusted at once while random `kid`s cannot flood the endpoint.
    return jwt.PyJWKClient(url, lifespan=300, cooldown_duration=1.0, timeout=5.0)


async def verified_subject(settings: Settings, jwks: jwt.PyJWKClient | None, token: str) -> str:
    """The user id (`sub`) of `token`, once its signature, audience and expiry check out."""
    if jwks is not None:
        # Fetching the key set is blocking network I/O: off the event loop.
        claims = await anyio.to_thread.run_sync(_verify, settings, jwks, token)
    else:
        claims = _verify(settings, None, token)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized("the token's `sub` claim is empty: it does not name a user")
    if len(subject) > MAX_SUBJECT_CHARS or not subject.isprintable():
        raise Unauthorized(
            f"the token's `sub` claim is not a user id this service accepts: at most "
            f"{MAX_SUBJECT_CHARS} printable characters"
        )
    return subject


def _verify(settings: Settings, jwks: jwt.PyJWKClient | None, token: str) -> dict[str, Any]:
    try:
        key, algorithms = _key(settings, jwks, token)
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


def _key(settings: Settings, jwks: jwt.PyJWKClient | None, token: str) -> tuple[Any, list[str]]:
    """The key `token` must be signed with, and the one algorithm it may use."""
    if jwks is not None:
        signing_key = jwks.get_signing_key_from_jwt(token)
        # The key's own algorithm only: a token naming another one is refused, not tried.
        if signing_key.algorithm_name not in ASYMMETRIC_ALGORITHMS:
            raise Unauthorized(
                f"the signing key {signing_key.key_id!r} has algorithm "
                f"{signing_key.algorithm_name}; expected one of {ASYMMETRIC_ALGORITHMS}"
            )
        return signing_key.key, [signing_key.algorithm_name]
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value(), ["HS256"]
    raise Unauthorized("the server has LANGPROC_AUTH=jwt but no secret or JWKS URL")
