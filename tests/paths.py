"""Where test inputs live."""

from pathlib import Path

# Copies of ../shared/samples (see samples/README.md for their origin and licence).
SAMPLES = Path(__file__).resolve().parent / "samples"
