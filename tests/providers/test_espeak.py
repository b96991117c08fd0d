"""EspeakSpeech against the real espeak-ng binary."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from starlette.concurrency import run_in_threadpool as run_blocking

from langproc.errors import PermanentError
from langproc.providers.espeak import EspeakSpeech, encode_mp3, parse_voices
from langproc.providers.usage import Usage, current_usage
from tests.mp3 import mp3_duration

LISTING = """\
Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  el              --/M      Greek              grk/el
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  fr-be           --/M      French_(Belgium)   roa/fr-BE            (fr 8)
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 5  nb              --/M      Norwegian_Bokmål  gmq/nb               (no 5)
 5  pt              --/M      Portuguese_(Portugal) roa/pt               (pt-pt 5)
 5  pt-br           --/M      Portuguese_(Brazil) roa/pt-BR            (pt 6)
"""


def test_voices_are_chosen_by_language_and_priority() -> None:
    voices = parse_voices(LISTING)
    assert voices["el"] == "el"
    assert voices["en"] == "en-gb"
    assert voices["fr"] == "fr-fr"
    assert voices["no"] == "nb"
    assert voices["pt"] == "pt"
    assert voices["pt-br"] == "pt-br"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("el", "Ο Ιάσωνας πλησίασε τα βόδια."),
        ("fr", "Le chat dort sur le canapé."),
        ("es", "El perro corre en el parque."),
        ("de", "Die Kinder spielen im Garten."),
    ],
)
async def test_speech_is_compressed_mp3_and_counted(language: str, text: str) -> None:
    usage = Usage()
    token = current_usage.set(usage)
    try:
        audio = await EspeakSpeech(run_blocking).speak(text, language)
    finally:
        current_usage.reset(token)
    assert audio.content_type == "audio/mpeg"
    duration = mp3_duration(audio.data)
    assert 0.5 < duration < 10
    # 48 kbit/s: a tenth of what the 22.05 kHz 16-bit WAV of the same speech would take.
    assert len(audio.data) < duration * 22050 * 2 / 6
    assert usage.tts_characters == len(text)


async def test_input_limit_is_enforced() -> None:
    speech = EspeakSpeech(run_blocking)
    assert 1000 <= speech.max_input_chars <= 10_000
    with pytest.raises(PermanentError, match="limit"):
        await speech.speak("a" * (speech.max_input_chars + 1), "en")


async def test_empty_text_is_refused() -> None:
    with pytest.raises(PermanentError, match="no text"):
        await EspeakSpeech(run_blocking).speak("  \n", "el")


async def test_unknown_voice_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="no voice for language 'xx'"):
        await EspeakSpeech(run_blocking).speak("hello", "xx")


async def test_missing_binary_says_how_to_install_it() -> None:
    speech = EspeakSpeech(run_blocking, executable="/nonexistent/espeak-ng")
    with pytest.raises(PermanentError, match="apt-get install espeak-ng"):
        await speech.speak("hello", "en")


def test_encoding_reads_the_wav_espeak_wrote(tmp_path: Path) -> None:
    wav = tmp_path / "speech.wav"
    with wave.open(str(wav), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(22050)
        writer.writeframes(b"\x01\x00" * 22050 * 2)
    assert 1.9 < mp3_duration(encode_mp3(wav)) < 2.2
    wav.write_bytes(b"ID3 not a wav")
    with pytest.raises(PermanentError, match="did not produce a WAV"):
        encode_mp3(wav)
