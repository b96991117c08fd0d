"""Where test inputs live."""

from pathlib import Path

# Real inputs (see samples/README.md for their origin and licence).
SAMPLES = Path(__file__).resolve().parent / "samples"
