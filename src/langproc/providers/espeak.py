"""espeak-ng as a SpeechSynthesizer: text on stdin, a WAV file on stdout."""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from langproc.errors import PermanentError, TransientError
from langproc.providers.ports import SpeechAudio
from langproc.providers.usage import record_usage

RunBlocking = Callable[..., Awaitable[Any]]

_OTHER_LANGUAGE = re.compile(r"\(([^\s()]+) (\d+)\)")
_MISSING_BINARY: Final = "install it with `apt-get install espeak-ng`"


def parse_voices(listing: str) -> dict[str, str]:
    """Map each language code in `espeak-ng --voices` output to its preferred voice."""
    best: dict[str, tuple[int, int, str]] = {}
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or not fields[0].isdigit():
            continue
        voice = fields[1]
        # A voice's own name wins a tie against a voice that merely also speaks the language.
        claims = [(voice, int(fields[0]), 0)]
        claims += [(code, int(p), 1) for code, p in _OTHER_LANGUAGE.findall(line)]
        for code, priority, rank in claims:
            known = best.get(code.lower())
            if known is None or (priority, rank) < known[:2]:
                best[code.lower()] = (priority, rank, voice)
    return {code: voice for code, (_, _, voice) in best.items()}


class EspeakSpeech:
    """Speaks text with the local espeak-ng (no network); WAV, 22.05 kHz mono."""

    def __init__(
        self,
        run_blocking: RunBlocking,
        *,
        executable: str = "espeak-ng",
        max_input_chars: int = 5000,
        words_per_minute: int = 150,
        timeout_s: float = 120.0,
    ) -> None:
        self.max_input_chars = max_input_chars
        self._run_blocking = run_blocking
        self._executable = executable
        self._words_per_minute = words_per_minute
        self._timeout_s = timeout_s
        self._voices: Mapping[str, str] | None = None

    async def speak(self, text: str, language: str) -> SpeechAudio:
        text = text.strip()
        if not text:
            raise PermanentError("there is no text to speak")
        if len(text) > self.max_input_chars:
            raise PermanentError(
                f"espeak-ng is given {len(text):,} characters at once; "
                f"the limit is {self.max_input_chars:,}"
            )
        voice = await self.voice_for(language)
        wav: bytes = await self._run_blocking(self._synthesize, text, voice)
        record_usage(model="espeak-ng", tts_characters=len(text))
        return SpeechAudio(data=wav, content_type="audio/wav")

    async def voice_for(self, language: str) -> str:
        """The espeak-ng voice for an ISO 639-1 code (voices are listed once, then cached)."""
        if self._voices is None:
            self._voices = await self._run_blocking(self._list_voices)
        voice = self._voices.get(language.lower())
        if voice is None:
            raise PermanentError(
                f"espeak-ng has no voice for language {language!r}; "
                "`espeak-ng --voices` lists the installed ones"
            )
        return voice

    def _list_voices(self) -> dict[str, str]:
        listing = self._call(["--voices"], b"").decode("utf-8", errors="replace")
        return parse_voices(listing)

    def _synthesize(self, text: str, voice: str) -> bytes:
        args = ["--stdout", "--stdin", "-b", "1", "-v", voice, "-s", str(self._words_per_minute)]
        return fix_wav_sizes(self._call(args, text.encode("utf-8")))

    def _call(self, args: list[str], stdin: bytes) -> bytes:
        try:
            result = subprocess.run(
                [self._executable, *args],
                input=stdin,
                capture_output=True,
                timeout=self._timeout_s,
                check=False,
            )
        except FileNotFoundError:
            raise PermanentError(
                f"espeak-ng is not installed ({self._executable!r} not found); {_MISSING_BINARY}"
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(f"espeak-ng did not finish within {self._timeout_s:g} s") from None
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", errors="replace").strip() or "no message"
            raise PermanentError(f"espeak-ng failed (exit {result.returncode}): {detail}")
        return result.stdout


def fix_wav_sizes(data: bytes) -> bytes:
    """The WAV with its RIFF and data sizes set to the real ones.

    espeak-ng cannot seek back in a pipe, so it leaves placeholder sizes of about 2 GiB there.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise PermanentError("espeak-ng did not produce a WAV file")
    patched = bytearray(data)
    offset = 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        if chunk_id == b"data":
            audio_bytes = len(data) - offset - 8
            if audio_bytes <= 0:
                raise PermanentError("espeak-ng produced no audio for this text")
            struct.pack_into("<I", patched, offset + 4, audio_bytes)
            struct.pack_into("<I", patched, 4, len(data) - 8)
            return bytes(patched)
        offset += 8 + size + (size & 1)
    raise PermanentError("espeak-ng produced a WAV file without audio data")
