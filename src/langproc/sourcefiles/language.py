"""The language pipeline of docs/api.md: every step, its dependencies and limits, in one place."""

from __future__ import annotations

from langproc.pipeline.graph import Graph, StepSpec
from langproc.sourcefiles import results
from langproc.steps.describe_lemmas import describe_lemmas
from langproc.steps.extract_phrases import extract_phrases
from langproc.steps.extract_words import extract_words
from langproc.steps.generate_sentences import generate_sentences
from langproc.steps.speak import speak_sentences, speak_text
from langproc.steps.transcribe import transcribe
from langproc.steps.translate import translate

LANGUAGE_GRAPH = Graph(
    [
        StepSpec("transcribe", transcribe, timeout_s=300),
        StepSpec("translate", translate, needs=("transcribe",), timeout_s=900),
        StepSpec("extract_words", extract_words, needs=("transcribe",), store=results.store_words),
        StepSpec(
            "extract_phrases", extract_phrases, needs=("transcribe",), store=results.store_phrases
        ),
        StepSpec(
            "describe_lemmas",
            describe_lemmas,
            needs=("extract_words",),
            timeout_s=900,
            store=results.store_lemmas,
        ),
        StepSpec(
            "generate_sentences",
            generate_sentences,
            needs=("describe_lemmas", "extract_words"),
            store=results.store_sentences,
        ),
        StepSpec(
            "speak_text",
            speak_text,
            needs=("transcribe",),
            timeout_s=1800,
            store=results.store_text_audio,
        ),
        StepSpec(
            "speak_sentences",
            speak_sentences,
            needs=("generate_sentences",),
            timeout_s=900,
            store=results.store_sentence_audio,
        ),
    ]
)
