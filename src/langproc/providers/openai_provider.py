"""The OpenAI-compatible adapter: structured text, transcription and speech via the `openai` SDK.

Only the widest-supported surfaces are used (Chat Completions with JSON-schema structured output
and `image_url` data URLs, and `/v1/audio/speech`), so Azure, Ollama, vLLM, LM Studio or
OpenRouter work as well as OpenAI. The SDK's own retries are off: the engine owns retries, and
every failure leaves here as a `TransientError` or `PermanentError`, decided in `classify`.
"""

from __future__ import annotations

import base64
import email.utils
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from types import TracebackType
from typing import Any, Protocol, TypeVar

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from langproc.errors import PermanentError, StepError, TransientError
from langproc.providers.ports import SpeechAudio
from langproc.providers.usage import record_usage
from langproc.settings import Settings

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class Limiter(Protocol):
    """Bounds concurrent provider calls: an `anyio.CapacityLimiter` or an `asyncio.Semaphore`."""

    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


TRANSCRIBE_SYSTEM = (
    "You transcribe photographed or scanned book pages for language learners. Answer with the "
    "text of the page only, exactly as printed, with no commentary and no markdown. Separate "
    "paragraphs with one blank line and join the lines within a paragraph with single spaces. "
    "Re-join words that are hyphenated across line breaks. Leave out running headers, footers "
    "and page numbers. If the page has no text, answer with nothing."
)


@dataclass(frozen=True)
class _Call:
    """What a failing call was, so that its error message can say what to change."""

    task: str
    model: str
    model_setting: str
    base_url: str
    timeout_s: float
    output: str = ""


class _Refused(Exception):
    """The model declined to answer (a refusal, or the provider's content filter)."""


class _BadAnswer(Exception):
    """The answer arrived but is unusable (no choices, no content, no audio)."""


class _Truncated(_BadAnswer):
    """The answer was cut off at the model's output limit: asking the same again cannot help."""


class OpenAIProvider:
    """TextGenerator, Transcriber and SpeechSynthesizer on any OpenAI-compatible endpoint."""

    max_input_chars = 4096

    def __init__(
        self,
        client: AsyncOpenAI,
        limiter: Limiter,
        *,
        text_model: str,
        vision_model: str,
        tts_model: str,
        tts_voice: str,
        timeout_s: float,
        speech_speed: float = 1.0,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self.text_model, self.vision_model = text_model, vision_model
        self.tts_model, self.tts_voice = tts_model, tts_voice
        self._timeout_s = timeout_s
        self.speech_speed = speech_speed

    @classmethod
    def from_settings(cls, settings: Settings, limiter: Limiter) -> OpenAIProvider:
        """An adapter with no SDK retries and the configured timeout, models and voice."""
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        client = AsyncOpenAI(
            # A local server needs no key; a real one answers 401, which `classify` explains.
            api_key=key or "not-set",
            base_url=settings.openai_base_url,
            max_retries=0,
            timeout=settings.provider_timeout_s,
        )
        return cls(
            client,
            limiter,
            text_model=settings.text_model,
            vision_model=settings.vision_model,
            tts_model=settings.tts_model,
            tts_voice=settings.tts_voice,
            timeout_s=settings.provider_timeout_s,
            speech_speed=settings.speech_speed,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, *, task: str, system: str, user: str, output: type[M]) -> M:
        """A chat completion whose answer must validate against `output` (strict JSON schema)."""
        call = self._call(task, self.text_model, "LANGPROC_TEXT_MODEL", output.__name__)
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]

        async def work() -> M:
            completion = await self._client.chat.completions.create(
                model=self.text_model,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": re.sub(r"[^A-Za-z0-9_-]", "_", task)[:64] or output.__name__,
                        "schema": strict_json_schema(output),
                        "strict": True,
                    },
                },
            )
            return output.model_validate_json(_content(completion))

        return await self._guarded(call, work)

    async def transcribe(self, image: bytes, content_type: str, language: str) -> str:
        """The page's text as plain text: paragraphs split by blank lines, NFC-normalised."""
        call = self._call("transcribe", self.vision_model, "LANGPROC_VISION_MODEL")
        data_url = f"data:{content_type};base64,{base64.b64encode(image).decode('ascii')}"
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": TRANSCRIBE_SYSTEM},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "Transcribe this page. It is written in the language with "
                        f"ISO 639-1 code {language!r}.",
                    },
                    {"type": "image_url", "image_url": {"url": data_url, "detail": "high"}},
                ],
            },
        ]

        async def work() -> str:
            completion = await self._client.chat.completions.create(
                model=self.vision_model, messages=messages
            )
            return unicodedata.normalize("NFC", _content(completion).strip())

        return await self._guarded(call, work)

    async def speak(self, text: str, language: str) -> SpeechAudio:
        """MP3 audio of at most `max_input_chars` characters, in `language` at the set pace."""
        if len(text) > self.max_input_chars:
            raise PermanentError(
                f"text of {len(text)} characters is longer than the speech limit of "
                f"{self.max_input_chars}: split it before speaking"
            )
        call = self._call("speak", self.tts_model, "LANGPROC_TTS_MODEL")
        options: dict[str, Any] = {}
        if self.speech_speed != 1.0:
            options["speed"] = self.speech_speed
        if not self.tts_model.startswith("tts-1"):
            # Models that take instructions otherwise guess the language, and read Greek
            # letters in an English accent when a text is short.
            options["instructions"] = speech_instructions(language, self.speech_speed)

        async def work() -> SpeechAudio:
            response = await self._client.audio.speech.create(
                model=self.tts_model,
                voice=self.tts_voice,
                input=text,
                response_format="mp3",
                **options,
            )
            data = response.content
            if not data:
                raise _BadAnswer("the provider returned no audio")
            record_usage(model=self.tts_model, tts_characters=len(text))
            content_type = response.response.headers.get("content-type", "audio/mpeg")
            return SpeechAudio(data=data, content_type=content_type.split(";")[0].strip())

        return await self._guarded(call, work)

    def _call(self, task: str, model: str, setting: str, output: str = "") -> _Call:
        base_url = str(self._client.base_url).rstrip("/")
        return _Call(task, model, setting, base_url, self._timeout_s, output)

    async def _guarded(self, call: _Call, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` in a slot of the global limiter; turn its failures into step errors."""
        async with self._limiter:
            try:
                return await work()
            except (openai.OpenAIError, ValidationError, _Refused, _BadAnswer) as exc:
                raise classify(exc, call) from exc


def speech_instructions(language: str, speed: float) -> str:
    """What a speech model that takes instructions is told: the language, and the pace."""
    pace = (
        "slowly and clearly, at a pace for language learners"
        if speed < 1.0
        else "clearly, at a natural pace"
    )
    return (
        f"The text is in the language with ISO 639-1 code {language!r}: read it as a native "
        f"speaker of that language would, {pace}."
    )


def _content(completion: ChatCompletion) -> str:
    """The text of the first choice, after recording the call's usage."""
    usage = completion.usage
    record_usage(
        model=completion.model,
        llm_calls=1,
        input_tokens=usage.prompt_tokens if usage else 0,
        output_tokens=usage.completion_tokens if usage else 0,
    )
    if not completion.choices:
        raise _BadAnswer("the answer had no choices")
    choice = completion.choices[0]
    if choice.message.refusal:
        raise _Refused(choice.message.refusal)
    if choice.finish_reason == "content_filter":
        raise _Refused("the provider's content filter stopped the answer")
    if choice.finish_reason == "length":
        raise _Truncated("the answer was cut off at the model's output limit")
    if choice.message.content is None:
        raise _BadAnswer("the answer had no content")
    return choice.message.content


def classify(exc: Exception, call: _Call) -> StepError:
    """Transient (worth retrying) or permanent (needs a change), with a message saying which."""
    if isinstance(exc, _Refused):
        return PermanentError(f"the model refused the {call.task} request: {exc}")
    if isinstance(exc, ValidationError):
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return TransientError(
            f"the model's answer to {call.task} was not valid {call.output} JSON: {detail}",
            kind="invalid_output",
        )
    if isinstance(exc, _Truncated):
        # The step may split its input; the engine's retry is the last resort.
        return TransientError(f"unusable answer to {call.task}: {exc}", kind="truncated")
    if isinstance(exc, _BadAnswer):
        return TransientError(f"unusable answer to {call.task}: {exc}", kind="invalid_output")
    if isinstance(exc, openai.APITimeoutError):
        return TransientError(
            f"{call.task}: {call.base_url} did not answer within {call.timeout_s:g} s "
            "(LANGPROC_PROVIDER_TIMEOUT_S)",
            kind="timeout",
        )
    if isinstance(exc, openai.APIConnectionError):
        return TransientError(
            f"{call.task}: could not connect to {call.base_url}: {exc}", kind="connection"
        )
    if not isinstance(exc, openai.APIStatusError):
        return TransientError(f"{call.task}: the provider failed: {exc}")
    return _classify_status(exc, call)


def _classify_status(exc: openai.APIStatusError, call: _Call) -> StepError:
    """What an HTTP error status from the provider means for the step."""
    status, message = exc.status_code, _server_message(exc)
    retry_after_s = _retry_after_s(exc.response.headers)
    if status == 429 and exc.code == "insufficient_quota":
        return PermanentError(
            f"the provider says the account's quota is used up ({message}): add credit or "
            "set OPENAI_API_KEY (or LANGPROC_OPENAI_API_KEY) to another key"
        )
    if status == 429:
        return TransientError(
            f"{call.task}: rate limited (429): {message}", retry_after_s, kind="rate_limit"
        )
    if status >= 500 or status in (408, 409):
        return TransientError(
            f"{call.task}: provider error ({status}): {message}", retry_after_s, kind="server_error"
        )
    if status == 401:
        return PermanentError(
            f"the API key was rejected by {call.base_url}: set OPENAI_API_KEY "
            f"(or LANGPROC_OPENAI_API_KEY) to a valid key ({message})"
        )
    if status == 403:
        return PermanentError(
            f"the API key may not use the model {call.model!r} ({message}): check the key's "
            f"permissions or set {call.model_setting} to a model it may use"
        )
    if status == 404:
        return PermanentError(
            f"the model {call.model!r} was not found at {call.base_url} ({message}): set "
            f"{call.model_setting} to a model this endpoint serves, or check "
            "LANGPROC_OPENAI_BASE_URL (it usually ends in /v1)"
        )
    return PermanentError(
        f"{call.base_url} rejected the {call.task} request for model {call.model!r} "
        f"({status}): {message}"
    )


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return exc.message


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The server's wait hint: `retry-after-ms`, or `retry-after` in seconds or as an HTTP date."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            return max(float(value) / divisor, 0.0)
        except ValueError:
            pass
        try:
            return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            continue
    return None


@cache
def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the subset strict structured outputs accept.

    Every property is required, no object takes extra properties, defaults are dropped (the
    model fills them in when it validates) and `$ref`s with sibling keywords are inlined.
    """
    root = model.model_json_schema()
    strict: dict[str, Any] = _strict(root, root)
    return strict


def _strict(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strict(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and len(node) > 1:
        target: Any = root
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _strict(sub, root) for name, sub in value.items()}
        else:
            out[key] = _strict(value, root)
    if "properties" in out or out.get("type") == "object":
        out["required"] = list(out.get("properties", {}))
        out["additionalProperties"] = False
    return out
