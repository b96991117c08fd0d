"""Auth (docs/api.md): JWTs from a secret or a rotating JWKS, and per-user isolation."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from PIL import Image

from langproc.api.app import create_app
from langproc.db.results import Audio
from langproc.db.session import session_scope
from langproc.runtime import Runtime
from tests.support.engine import MakeRuntime, Recorder, diamond
from tests.support.service import asgi_client

SECRET = "a-test-secret-that-is-at-least-32-bytes"
TEXT = {"text": "Ήταν μια φορά ένας βασιλιάς.", "language": "el"}


def claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": "user-a",
        "aud": "authenticated",
        "exp": int(time.time()) + 600,
        "role": "authenticated",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def hs256(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def jwt_runtime(db_url: str, make_runtime: MakeRuntime) -> Runtime:
    graph = diamond(Recorder(delay_s=0.01))
    return make_runtime(db_url, graph=graph, auth="jwt", jwt_secret=SECRET)


@pytest.fixture
async def jwt_client(jwt_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The API with `LANGPROC_AUTH=jwt` and an HS256 secret."""
    async with asgi_client(create_app(runtime=jwt_runtime)) as http:
        yield http


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def test_bad_credentials_are_401_with_a_clear_detail(jwt_client: httpx.AsyncClient) -> None:
    other_key = "another-secret-of-at-least-32-bytes-long"
    unsigned = jwt.encode(claims(), key="", algorithm="none")
    cases: list[tuple[dict[str, str], str]] = [
        ({}, "missing credentials"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer <JWT>"),
        ({"Authorization": "Bearer"}, "Bearer <JWT>"),
        ({"Authorization": hs256()}, "Bearer <JWT>"),
        (bearer("not-a-jwt"), "not valid"),
        (bearer("a.b.c"), "not valid"),
        (bearer(hs256(other_key)), "signature"),
        (bearer(unsigned), "not valid"),
        (bearer(hs256(exp=int(time.time()) - 60)), "expired"),
        (bearer(hs256(aud="anon")), "audience"),
        (bearer(hs256(aud=None)), "aud"),
        (bearer(hs256(sub=None)), "sub"),
        (bearer(hs256(sub="")), "sub"),
        (bearer(hs256(exp=None)), "exp"),
    ]
    for headers, words in cases:
        response = await jwt_client.get("/api/sourcefiles", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert words.lower() in response.json()["detail"].lower(), (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    ok = await jwt_client.get("/api/sourcefiles", headers=bearer(hs256()))
    assert ok.status_code == 200
    lower_case_scheme = await jwt_client.get(
        "/api/sourcefiles", headers={"Authorization": f"bearer {hs256()}"}
    )
    assert lower_case_scheme.status_code == 200


async def test_every_api_route_needs_credentials(jwt_client: httpx.AsyncClient) -> None:
    sid = uuid.uuid4()
    for method, path in [
        ("POST", "/api/sourcefiles"),
        ("GET", "/api/sourcefiles"),
        ("GET", f"/api/sourcefiles/{sid}"),
        ("POST", f"/api/sourcefiles/{sid}/retry"),
        ("POST", f"/api/sourcefiles/{sid}/cancel"),
        ("DELETE", f"/api/sourcefiles/{sid}"),
        ("GET", f"/api/sourcefiles/{sid}/image"),
        ("GET", f"/api/sourcefiles/{sid}/events"),
        ("GET", "/api/events"),
        ("GET", f"/api/audio/{sid}"),
    ]:
        response = await jwt_client.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
    assert (await jwt_client.get("/healthz")).status_code == 200


async def test_users_see_and_change_only_their_own_sourcefiles(
    jwt_client: httpx.AsyncClient,
) -> None:
    alice, bob = bearer(hs256(sub="alice")), bearer(hs256(sub="bob"))
    files = {"file": ("page.png", _png(), "image/png")}
    created = await jwt_client.post(
        "/api/sourcefiles", files=files, data={"language": "el"}, headers=alice
    )
    assert created.status_code == 202, created.text
    sid = created.json()["id"]
    bobs = await jwt_client.post("/api/sourcefiles", json=TEXT, headers=bob)
    assert bobs.status_code == 202

    listing = (await jwt_client.get("/api/sourcefiles", headers=bob)).json()
    assert [item["id"] for item in listing["items"]] == [bobs.json()["id"]]
    for method, path in [
        ("GET", f"/api/sourcefiles/{sid}"),
        ("GET", f"/api/sourcefiles/{sid}/image"),
        ("GET", f"/api/sourcefiles/{sid}/events"),
        ("POST", f"/api/sourcefiles/{sid}/retry"),
        ("POST", f"/api/sourcefiles/{sid}/cancel"),
        ("DELETE", f"/api/sourcefiles/{sid}"),
    ]:
        response = await jwt_client.request(method, path, headers=bob)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"detail": f"no sourcefile with id {sid}"}, "as if unknown"

    assert (await jwt_client.get(f"/api/sourcefiles/{sid}", headers=alice)).status_code == 200
    image = await jwt_client.get(f"/api/sourcefiles/{sid}/image", headers=alice)
    assert image.status_code == 200
    assert image.content == files["file"][1]
    alices = (await jwt_client.get("/api/sourcefiles", headers=alice)).json()["items"]
    assert [item["id"] for item in alices] == [sid]
    assert (await jwt_client.delete(f"/api/sourcefiles/{sid}", headers=alice)).status_code == 204


async def test_users_hear_only_their_own_audio(
    jwt_client: httpx.AsyncClient, jwt_runtime: Runtime
) -> None:
    alice, bob = bearer(hs256(sub="alice")), bearer(hs256(sub="bob"))
    created = await jwt_client.post("/api/sourcefiles", json=TEXT, headers=alice)
    assert created.status_code == 202, created.text
    # The audio a speak step would have stored for Alice's text.
    spoken = b"ID3" + bytes(200)
    async with session_scope(jwt_runtime.sessions) as session:
        audio = Audio(
            sourcefile_id=uuid.UUID(created.json()["id"]),
            sentence_position=None,
            blob_key=await jwt_runtime.blobs.put(spoken, ".mp3"),
            content_type="audio/mpeg",
            characters=len(TEXT["text"]),
        )
        session.add(audio)
    path = f"/api/audio/{audio.id}"

    mine = await jwt_client.get(path, headers=alice)
    assert mine.status_code == 200
    assert mine.content == spoken
    for headers in (bob, {**bob, "Range": "bytes=0-9"}):
        theirs = await jwt_client.get(path, headers=headers)
        assert theirs.status_code == 404, theirs.text
        assert theirs.json() == {"detail": f"no audio with id {audio.id}"}, "as if unknown"


async def test_access_token_query_parameter_only_on_event_streams(
    jwt_client: httpx.AsyncClient,
) -> None:
    carol = hs256(sub="carol")
    params = {"access_token": carol}
    created = await jwt_client.post("/api/sourcefiles", json=TEXT, headers=bearer(carol))
    sid = created.json()["id"]
    await jwt_client.post(f"/api/sourcefiles/{sid}/cancel", headers=bearer(carol))
    # A stream of a finished sourcefile replays its events and ends.
    stream = await jwt_client.get(f"/api/sourcefiles/{sid}/events", params=params)
    assert stream.status_code == 200, stream.text
    assert "event: sourcefile" in stream.text
    bad = await jwt_client.get(
        f"/api/sourcefiles/{sid}/events", params={"access_token": hs256(SECRET[::-1])}
    )
    assert bad.status_code == 401
    # Basic auth of a proxy in front (a staging site) does not hide the query token.
    proxied = await jwt_client.get(
        f"/api/sourcefiles/{sid}/events",
        params=params,
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )
    assert proxied.status_code == 200
    # Everywhere else the token goes in the header (docs/api.md), so that it stays out of logs.
    for method, path in [
        ("POST", "/api/sourcefiles"),
        ("GET", "/api/sourcefiles"),
        ("GET", f"/api/sourcefiles/{sid}"),
        ("POST", f"/api/sourcefiles/{sid}/retry"),
        ("DELETE", f"/api/sourcefiles/{sid}"),
        ("GET", f"/api/sourcefiles/{sid}/image"),
        ("GET", f"/api/audio/{sid}"),
    ]:
        response = await jwt_client.request(method, path, params=params)
        assert response.status_code == 401, (method, path, response.text)
        assert "only on event streams" in response.json()["detail"]
    # The header, when there is one, is the credential that counts.
    dave = await jwt_client.get("/api/sourcefiles", params=params, headers=bearer(hs256(sub="d")))
    assert dave.json()["items"] == []


async def test_without_auth_everything_works_without_a_token(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/sourcefiles",
        files={"file": ("page.png", _png(), "image/png")},
        data={"language": "el"},
    )
    assert created.status_code == 202
    sid = created.json()["id"]
    assert (await client.get("/api/sourcefiles")).json()["items"][0]["id"] == sid
    assert (await client.get(f"/api/sourcefiles/{sid}")).status_code == 200
    assert (await client.get(f"/api/sourcefiles/{sid}/image")).status_code == 200
    assert (await client.post(f"/api/sourcefiles/{sid}/cancel")).status_code == 202
    # A token, even a bad one, is not looked at.
    assert (await client.get("/api/sourcefiles", headers=bearer("junk"))).status_code == 200
    assert (await client.delete(f"/api/sourcefiles/{sid}")).status_code == 204


# JWKS: asymmetric keys published at a URL (Supabase's signing keys), rotated at runtime.


class Jwks:
    """A JWKS endpoint on loopback whose key set a test can change, counting fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.up = True
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not jwks.up:
                    self.send_error(503)
                    return
                jwks.fetches += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/auth/v1/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, *keys: SigningKey) -> None:
        self.keys = [key.jwk for key in keys]


class SigningKey:
    def __init__(self, kind: str) -> None:
        self.kid = f"{kind}-{uuid.uuid4().hex[:8]}"
        public: Any
        if kind == "rsa":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.algorithm = "RS256"
            public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.algorithm = "ES256"
            public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwk = {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, kid: str | None = None, **overrides: Any) -> str:
        return jwt.encode(
            claims(**overrides),
            self.private,
            algorithm=self.algorithm,
            headers={"kid": kid or self.kid},
        )


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    endpoint = Jwks()
    endpoint.thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.fixture
async def jwks_client(
    sqlite_url: str, make_runtime: MakeRuntime, jwks: Jwks
) -> AsyncIterator[httpx.AsyncClient]:
    graph = diamond(Recorder(delay_s=0.01))
    runtime = make_runtime(sqlite_url, graph=graph, auth="jwt", jwks_url=jwks.url)
    async with asgi_client(create_app(runtime=runtime)) as http:
        yield http


async def test_jwks_keys_verify_tokens_and_a_rotated_key_is_picked_up(
    jwks: Jwks, jwks_client: httpx.AsyncClient
) -> None:
    old, new, stranger = SigningKey("rsa"), SigningKey("ec"), SigningKey("ec")
    jwks.publish(old)
    response = await jwks_client.post("/api/sourcefiles", json=TEXT, headers=bearer(old.sign()))
    assert response.status_code == 202
    assert (await jwks_client.get("/api/sourcefiles", headers=bearer(old.sign()))).json()[
        "items"
    ], "the key set is cached"
    assert jwks.fetches == 1

    forged = await jwks_client.get(
        "/api/sourcefiles", headers=bearer(SigningKey("rsa").sign(old.kid))
    )
    assert forged.status_code == 401
    assert "signature" in forged.json()["detail"]
    other_alg = await jwks_client.get("/api/sourcefiles", headers=bearer(stranger.sign(old.kid)))
    assert other_alg.status_code == 401, "an ES256 token is not checked with an RSA key"
    assert "alg" in other_alg.json()["detail"]
    expired = old.sign(exp=int(time.time()) - 5)
    assert (await jwks_client.get("/api/sourcefiles", headers=bearer(expired))).status_code == 401
    assert (
        await jwks_client.get("/api/sourcefiles", headers=bearer(old.sign(aud="x")))
    ).status_code == 401

    # Rotation: the provider publishes a new key and signs with it; no restart here.
    jwks.publish(old, new)
    # A fixed wait on purpose: what must pass is time itself, the one-second refetch cooldown
    # that keeps unknown `kid`s from flooding the JWKS endpoint (no condition to wait for).
    await asyncio.sleep(1.1)
    rotated = await jwks_client.get("/api/sourcefiles", headers=bearer(new.sign()))
    assert rotated.status_code == 200, rotated.text
    assert len(rotated.json()["items"]) == 1, "the same user, whichever key signed"
    assert jwks.fetches == 2

    unknown = await jwks_client.get("/api/sourcefiles", headers=bearer(stranger.sign()))
    assert unknown.status_code == 401
    assert "signing key" in unknown.json()["detail"]
    assert jwks.fetches == 2, "an unknown kid right after a fetch does not refetch"

    await asyncio.sleep(1.1)  # past the cooldown again, on purpose as above
    later = await jwks_client.get("/api/sourcefiles", headers=bearer(stranger.sign()))
    assert later.status_code == 401
    assert jwks.fetches == 3
    assert (
        await jwks_client.get("/api/sourcefiles", headers=bearer(new.sign()))
    ).status_code == 200


async def test_unreachable_jwks_is_503_not_401(jwks: Jwks, jwks_client: httpx.AsyncClient) -> None:
    key = SigningKey("ec")
    jwks.up = False
    response = await jwks_client.get("/api/sourcefiles", headers=bearer(key.sign()))
    assert response.status_code == 503
    assert "signing keys" in response.json()["detail"]


async def test_a_signed_token_with_an_unstorable_sub_is_401(jwt_client: httpx.AsyncClient) -> None:
    for subject in ("u" * 256, "user\x00a", "user\nadmin"):
        headers = bearer(hs256(sub=subject))
        for method, path in [("GET", "/api/sourcefiles"), ("POST", "/api/sourcefiles")]:
            response = await jwt_client.request(method, path, json=TEXT, headers=headers)
            assert response.status_code == 401, (subject[:10], method, response.text)
            assert "`sub`" in response.json()["detail"]
    longest = await jwt_client.post(
        "/api/sourcefiles", json=TEXT, headers=bearer(hs256(sub="u" * 255))
    )
    assert longest.status_code == 202, longest.text
