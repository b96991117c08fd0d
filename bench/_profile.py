"""py-spy attached to a process for the length of a run, and a summary of what it recorded.

    .venv/bin/python -m bench.engine_load --pipelines 200 --profile serve.txt
    .venv/bin/python -m bench._profile serve.txt        # where the CPU went

py-spy is not a dependency: `pip install py-spy` into the virtualenv first.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench._harness import say, table

FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


class Profiler:
    """`py-spy record --format raw` on a pid and its children until `stop()`."""

    def __init__(self, pid: int, output: Path) -> None:
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        self.process = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "100", "--subprocesses",
             "--output", str(output), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def where(frame: str) -> tuple[str, str]:
    """(function, file) of one collapsed frame, the file shortened to the package path."""
    match = FRAME.match(frame)
    if match is None:
        return frame, ""
    path = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return match["function"], path


def summarize(path: Path, top: int) -> None:
    """Self time by function, and time inside each langproc function (inclusive)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [where(f) for f in stack.split(";")]
        total += n
        function, file = frames[-1]
        self_time[f"{function} ({file})"] += n
        by_package[file.split("/", 1)[0] if "/" in file else file] += n
        seen = set()
        for function, file in frames:
            if file.startswith("langproc/") and (function, file) not in seen:
                seen.add((function, file))
                inclusive[f"{function} ({file})"] += n
    say(f"{total} samples in {path}")
    for title, counter in (
        ("self time by package", by_package),
        ("self time by function", self_time),
        ("time inside langproc functions (inclusive)", inclusive),
    ):
        rows = [[name, f"{n / total:.1%}"] for name, n in counter.most_common(top)]
        say("", f"== {title} ==", *table(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Summarise a py-spy raw (collapsed) profile.")
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    summarize(args.profile, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
