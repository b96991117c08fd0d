"""Peak memory of speaking a long text with the local espeak-ng, as the `speak_text` step does
it in the executor: the text is chunked, each chunk spoken and appended to one file on disk.

    .venv/bin/python -m bench.speech_memory                  # 100,000 characters
    .venv/bin/python -m bench.speech_memory --chars 20000

Prints the process's peak resident memory (espeak-ng's own processes are not counted), the
time taken and the size of the stored audio. Figures only: nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from pathlib import Path

from tests.paths import SAMPLES

from langproc.db.migrate import upgrade
from langproc.providers.espeak import EspeakSpeech
from langproc.runtime import build_runtime
from langproc.settings import Settings
from langproc.steps.context import BlobAccess, Providers, Source, StepContext
from langproc.steps.speak import speak_text


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def long_text(chars: int) -> str:
    story = (SAMPLES / "el-story.txt").read_text().strip()
    return "\n\n".join([story] * (chars // len(story) + 1))[:chars].strip()


async def measure(chars: int, data_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{data_dir / 'langproc.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=url)  # type: ignore[call-arg]
    runtime = build_runtime(settings)
    text = long_text(chars)
    speech = EspeakSpeech(runtime.run_blocking)

    async def no_upload() -> bytes:
        raise AssertionError("not read")

    ctx = StepContext(
        source=Source(uuid.uuid4(), "el", "en", "text", text, "text/plain"),
        providers=Providers(text=None, transcriber=None, speech=speech, lexicon=None),
        outputs={"transcribe": {"text": text}},
        blobs=BlobAccess(no_upload, runtime.blobs.put, runtime.blobs.writer),
        run_blocking=runtime.run_blocking,
    )
    before = _rss_mib()
    started = time.monotonic()
    audio = await speak_text(ctx)
    elapsed = time.monotonic() - started
    size = runtime.blobs.path(audio.blob_key).stat().st_size
    await runtime.stop()
    print(f"characters spoken       {len(text):,}")  # noqa: T201
    print(f"peak RSS before / after {before:,.0f} MiB / {_rss_mib():,.0f} MiB")  # noqa: T201
    print(f"stored audio            {size / 2**20:,.1f} MiB {audio.content_type}")  # noqa: T201
    print(f"time                    {elapsed:,.1f} s")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="langproc-bench-") as folder:
        asyncio.run(measure(args.chars, Path(folder)))


if __name__ == "__main__":
    main()
