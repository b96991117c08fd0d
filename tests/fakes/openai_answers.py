"""What the fake OpenAI server answers: completions, speech, the errors its faults produce, and
the shapes of its forced faults and counters.

Chat completions: with a `json_schema` response format, JSON made from the schema and the
request's text (see `openai_content`); with an `image_url` part and no schema, the text registered
for that image (by the sha256 of its bytes), or a Greek fallback text; otherwise an "[en] "
rendering of the last user message. `usage` counts about four characters per token (and 765
tokens per image). Speech: silent MP3 frames, about one second per 15 characters.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response

from tests.fakes.openai_content import FALLBACK_GREEK, SchemaFaker, SourceText, violate

CHAT, SPEECH = "/v1/chat/completions", "/v1/audio/speech"
# One MPEG-1 Layer III frame: 32 kbit/s, 48 kHz, mono, no CRC, zeroed side info (silence);
# 96 bytes = 1152 samples = 24 ms.
MP3_FRAME = bytes.fromhex("fffb14c0") + bytes(92)
REFUSAL = "I'm sorry, but I can't help with that request."


class Fault(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429 with Retry-After
    SERVER_ERROR = "server_error"  # 500
    TIMEOUT = "timeout"  # answers only after slow_response_s (or when the client gives up)
    MALFORMED_JSON = "malformed_json"  # chat only: truncated JSON content
    SCHEMA_VIOLATION = "schema_violation"  # chat only: JSON of the wrong shape
    REFUSAL = "refusal"  # chat only: message.refusal set, content null
    UNAUTHORIZED = "unauthorized"  # 401
    BAD_REQUEST = "bad_request"  # 400
    NOT_FOUND = "not_found"  # 404, model not found
    TRUNCATED = "truncated"  # chat only: half the JSON, finish_reason "length" (output limit)
    OMIT_ENTRIES = "omit_entries"  # chat only: every other item of each top-level list left out


TRANSIENT_FAULTS = (Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.TIMEOUT)


def fault_applies(fault: Fault, endpoint: str, body: Mapping[str, Any]) -> bool:
    """Refusals need a chat call and bad JSON a structured one; the rest fit any call."""
    if fault is Fault.REFUSAL:
        return endpoint == CHAT
    if fault in (Fault.MALFORMED_JSON, Fault.SCHEMA_VIOLATION, Fault.TRUNCATED, Fault.OMIT_ENTRIES):
        return endpoint == CHAT and schema_name(body) is not None
    return True


@dataclass
class ForcedFault:
    fault: Fault
    remaining: int | None  # None: every matching call until cleared
    task: str | None


@dataclass(frozen=True)
class Stats:
    total_calls: int
    calls_by_endpoint: dict[str, int]  # by path: /v1/chat/completions, /v1/audio/speech
    calls_by_schema: dict[str, int]  # by json_schema name
    calls_by_task: dict[str, int]  # by fault task (see the module docstring)
    faults_injected: dict[str, int]  # by Fault value
    in_flight: int
    max_in_flight: int


def take_forced(
    forced: list[ForcedFault], endpoint: str, body: Mapping[str, Any], task: str
) -> Fault | None:
    """The first forced fault that fits this call, counting it down."""
    for item in forced:
        if item.task in (None, task) and item.remaining != 0:
            if fault_applies(item.fault, endpoint, body):
                if item.remaining is not None:
                    item.remaining -= 1
                return item.fault
    return None


def sample_texts(directory: Path) -> dict[str, str]:
    """{sha256 of the image: its text} for each image in `directory` with a `.txt` beside it."""
    texts: dict[str, str] = {}
    for image in sorted(directory.iterdir()):
        text = image.with_suffix(".txt")
        if image.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"} and text.exists():
            digest = hashlib.sha256(image.read_bytes()).hexdigest()
            texts[digest] = text.read_text(encoding="utf-8").strip()
    return texts


def mp3_silence(seconds: float) -> bytes:
    return MP3_FRAME * max(1, round(seconds / 0.024))


def error_response(
    status: int, message: str, kind: str = "invalid_request_error", code: str | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


def fault_error(fault: Fault, body: Mapping[str, Any], retry_after_s: float) -> Response | None:
    """The error response of an HTTP-level fault; None for faults shown in the answer itself."""
    if fault is Fault.RATE_LIMIT:
        response = error_response(
            429, "Rate limit reached for requests (injected).", "requests", "rate_limit_exceeded"
        )
        response.headers["retry-after"] = f"{retry_after_s:g}"
        return response
    if fault is Fault.SERVER_ERROR:
        return error_response(
            500, "The server had an error while processing your request.", "server_error"
        )
    if fault is Fault.UNAUTHORIZED:
        return error_response(401, "Incorrect API key provided.", code="invalid_api_key")
    if fault is Fault.BAD_REQUEST:
        return error_response(400, "Invalid 'messages': this request was refused (injected).")
    if fault is Fault.NOT_FOUND:
        model = body.get("model")
        message = f"The model `{model}` does not exist or you do not have access to it."
        return error_response(404, message, code="model_not_found")
    return None


def schema_name(body: Mapping[str, Any]) -> str | None:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    return str(response_format.get("json_schema", {}).get("name", "")) or None


def chat_task(body: Mapping[str, Any]) -> str:
    """The name faults match: the JSON-schema name, else `transcribe` (image) or `chat`."""
    if name := schema_name(body):
        return name
    return "transcribe" if message_parts(body.get("messages", []))[1] else "chat"


def message_parts(messages: list[dict[str, Any]]) -> tuple[list[str], list[bytes]]:
    """The text parts of the user messages and the bytes of every data-URL image."""
    texts: list[str] = []
    images: list[bytes] = []
    for message in messages:
        content = message.get("content")
        parts: list[dict[str, Any]] = (
            [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        )
        for part in parts:
            if part.get("type") == "text" and message.get("role") == "user":
                texts.append(part["text"])
            elif part.get("type") == "image_url":
                url: str = part["image_url"]["url"]
                if url.startswith("data:") and "," in url:
                    images.append(base64.b64decode(url.split(",", 1)[1]))
    return texts, images


def with_fields(instance: Any, fields: Mapping[str, Any]) -> Any:
    """`instance` with every object's properties named in `fields` set to their values."""
    if isinstance(instance, list):
        return [with_fields(item, fields) for item in instance]
    if isinstance(instance, dict):
        return {
            key: fields[key] if key in fields else with_fields(value, fields)
            for key, value in instance.items()
        }
    return instance


def chat_completion(
    body: Mapping[str, Any],
    fault: Fault | None,
    images: Mapping[str, str],
    rng: random.Random,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    texts, sent_images = message_parts(body.get("messages", []))
    if sent_images:
        digest = hashlib.sha256(sent_images[0]).hexdigest()
        source = SourceText(images.get(digest, FALLBACK_GREEK))
    else:
        source = SourceText(texts[-1] if texts else "")
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        instance = SchemaFaker(response_format["json_schema"]["schema"], source, rng).generate()
        instance = with_fields(instance, fields or {})
        if fault is Fault.SCHEMA_VIOLATION:
            instance = violate(instance)
        if fault is Fault.OMIT_ENTRIES:
            instance = omit_entries(instance)
        content = json.dumps(instance, ensure_ascii=False)
    elif sent_images:
        content = source.text
    else:
        content = source.translated()
    if fault in (Fault.MALFORMED_JSON, Fault.TRUNCATED):
        content = content[: len(content) // 2] if content.startswith("{") else "{" + content
    refusal = REFUSAL if fault is Fault.REFUSAL else None
    prompt_tokens = max(1, sum(len(t) for t in texts) // 4) + 765 * len(sent_images)
    completion_tokens = max(1, len(refusal or content) // 4)
    message = {"role": "assistant", "content": None if refusal else content, "refusal": refusal}
    finish = "length" if fault is Fault.TRUNCATED else "stop"
    return {
        "id": f"chatcmpl-fake{rng.getrandbits(48):012x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def omit_entries(instance: Any) -> Any:
    """Leave out every other item (the second, the fourth…) of each top-level list, and the
    only item of a list of one: what a model does when it skips part of a long batch."""
    if not isinstance(instance, dict):
        return instance
    return {
        name: (value[::2] if len(value) > 1 else []) if isinstance(value, list) else value
        for name, value in instance.items()
    }


def speech(body: Mapping[str, Any]) -> Response:
    text = body.get("input")
    if not isinstance(text, str) or not text or not body.get("model") or not body.get("voice"):
        return error_response(400, "'input', 'model' and 'voice' are required.")
    if len(text) > 4096:
        return error_response(400, "'input' is longer than the maximum of 4096 characters.")
    if body.get("response_format", "mp3") != "mp3":
        return error_response(400, "This server only produces mp3.")
    return Response(mp3_silence(len(text) / 15), media_type="audio/mpeg")
