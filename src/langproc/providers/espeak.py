"""espeak-ng as a SpeechSynthesizer: text on stdin, a WAV file on disk, MP3 (LAME) returned."""

from __future__ import annotations

import re
import subprocess
import tempfile
import wave
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import lameenc

from langproc.errors import PermanentError, TransientError
from langproc.providers.ports import RunBlocking, SpeechAudio
from langproc.providers.usage import record_usage

_OTHER_LANGUAGE = re.compile(r"\(([^\s()]+) (\d+)\)")
_MISSING_BINARY: Final = "install it with `apt-get install espeak-ng`"
# Mono speech at espeak-ng's 22.05 kHz: 48 kbit/s CBR is clear and a seventh of the WAV size.
MP3_KBPS: Final = 48
_BLOCK_FRAMES: Final = 32768


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
    """Speaks text with the local espeak-ng (no network); MP3, 22.05 kHz mono."""

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
        mp3: bytes = await self._run_blocking(self._synthesize, text, voice)
        record_usage(model="espeak-ng", tts_characters=len(text))
        return SpeechAudio(data=mp3, content_type="audio/mpeg")

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
        # A file rather than stdout: the raw audio never passes through memory whole, and
        # espeak-ng can seek back to write the right sizes in the WAV header.
        with tempfile.TemporaryDirectory(prefix="langproc-espeak-") as folder:
            wav = Path(folder) / "speech.wav"
            args = ["-w", str(wav), "--stdin", "-b", "1", "-v", voice]
            self._call([*args, "-s", str(self._words_per_minute)], text.encode("utf-8"))
            return encode_mp3(wav)

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


def encode_mp3(wav: Path) -> bytes:
    """The 16-bit WAV file as constant-bitrate MP3, read block by block."""
    try:
        reader = wave.open(str(wav), "rb")
    except (wave.Error, EOFError, FileNotFoundError):
        raise PermanentError("espeak-ng did not produce a WAV file") from None
    with reader:
        if reader.getsampwidth() != 2:
            raise PermanentError("espeak-ng produced audio that is not 16-bit PCM")
        encoder = lameenc.Encoder()
        encoder.set_bit_rate(MP3_KBPS)
        encoder.set_in_sample_rate(reader.getframerate())
        encoder.set_channels(reader.getnchannels())
        encoder.set_quality(7)  # "fast": the same size at a constant bitrate, half the CPU
        mp3 = bytearray()
        read = 0
        while frames := reader.readframes(_BLOCK_FRAMES):
            read += len(frames)
            mp3 += encoder.encode(frames)
        if not read:
            raise PermanentError("espeak-ng produced no audio for this text")
        mp3 += encoder.flush()
    return bytes(mp3)
