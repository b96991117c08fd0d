"""Provider ports (Protocols) and their adapters: OpenAI-compatible, Tesseract, espeak-ng,
simplemma/wordfreq."""
