"""What the LLM is asked to return: JSON schemas with a description on every field and enums
where a closed set of values belongs (one lemma must not become two table rows because the
model wrote `Noun` once and `noun` the next time). Frequencies are never asked for."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from langproc.steps.models import Level

PartOfSpeech = Literal[
    "noun", "proper noun", "verb", "auxiliary verb", "adjective", "adverb", "pronoun",
    "article", "determiner", "preposition", "conjunction", "particle", "numeral",
    "interjection", "other",
]  # fmt: skip
# Words a learner does not study on their own: grammar words, names and numbers.
NOT_STUDY_WORDS = frozenset(
    {"proper noun", "auxiliary verb", "pronoun", "article", "determiner", "preposition",
     "conjunction", "particle", "numeral", "interjection"}
)  # fmt: skip
Gender = Literal["masculine", "feminine", "neuter", "common", "none"]
Register = Literal["neutral", "formal", "informal", "colloquial", "literary", "technical", "slang"]

_POS = "Part of speech (Universal Dependencies sense): `proper noun` for names of people/places."
_TRANSLATIONS = "Translations into the learner's language, most usual first (1-4 items)."


class WordAnswer(BaseModel):
    wordform: str = Field(description="The word exactly as it is written in the text.")
    lemma: str = Field(
        description="Its dictionary form (infinitive, nominative singular, masculine…)."
    )
    part_of_speech: PartOfSpeech = Field(description=_POS)
    inflection: str = Field(
        description="How this form is inflected, briefly (e.g. `genitive plural`, "
        "`past tense, 3rd person singular`); empty for words that do not inflect."
    )
    translations: list[str] = Field(description=_TRANSLATIONS)
    centrality: float = Field(
        ge=0.0,
        le=1.0,
        description="How central the word is to what this text is about: 0 incidental, "
        "1 essential (the text's topic, its key actions and things).",
    )


class WordsAnswer(BaseModel):
    words: list[WordAnswer] = Field(
        description="Every distinct word form worth learning, in order of first appearance; "
        "no names, no numbers."
    )


class LemmaAnswer(BaseModel):
    # `register` is a BaseModel attribute: the field is named apart and answers to the alias.
    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    lemma: str = Field(description="The lemma exactly as given.")
    part_of_speech: PartOfSpeech = Field(description="The part of speech exactly as given.")
    translations: list[str] = Field(description=_TRANSLATIONS)
    register_: Register = Field(alias="register", description="The register the word belongs to.")
    cefr_level: Level = Field(description="The CEFR level at which learners usually meet it.")
    gender: Gender = Field(
        description="Grammatical gender of a noun; `none` for other words or where the "
        "language has no gender."
    )
    article: str = Field(
        description="For a noun, its definite article in the nominative singular (e.g. `der`, "
        "`la`, `ο`); empty otherwise."
    )
    plural: str = Field(
        description="For a noun, its nominative plural; empty otherwise or if it has none."
    )
    principal_parts: list[str] = Field(
        description="For a verb, its principal parts as a dictionary lists them (e.g. past "
        "tense, participle); empty for other words."
    )
    etymology: str | None = Field(
        description="Its origin in one short sentence, only if you are sure; null otherwise."
    )
    mnemonic: str | None = Field(
        description="A short memory aid, only if a good one exists; null otherwise."
    )
    synonyms: list[str] = Field(
        description="Up to 3 synonyms in the studied language; empty if there are none."
    )


class LemmasAnswer(BaseModel):
    lemmas: list[LemmaAnswer] = Field(description="One entry per lemma given, in the same order.")


class SentenceAnswer(BaseModel):
    target_lemma: str = Field(description="The lemma this sentence is for, exactly as given.")
    sentence: str = Field(
        description="One short, natural sentence in the studied language at the requested "
        "level that uses the target lemma; plain text, no markup."
    )
    target_form: str = Field(
        description="The form of the target lemma exactly as it is written in the sentence."
    )
    translation: str = Field(description="The sentence in the learner's language.")
    lemmas: list[str] = Field(
        description="The lemmas of the given list that the sentence uses, the target first."
    )
    cefr_level: Level = Field(description="The CEFR level of the sentence.")


class SentencesAnswer(BaseModel):
    sentences: list[SentenceAnswer] = Field(
        description="One sentence per lemma given, in the same order."
    )
