"""Realistic JSON for a JSON schema, made from the words and sentences of the request's text.

What the fake answers, by property name (array items use the singular of the array's name):
- The source is the last user message (or the text registered for an image), without the
  `<data>`…`</data>` delimiters langproc puts around it. A list of short lines (lemmas, maybe
  with tab-separated details) gives its first column as the words, and one sentence per word,
  made of that word and the next ones of the list; a second tab-separated column is used as the
  `part_of_speech` of that word (when the schema's enum allows it).
- `text`: the source text; `sentence`, `phrase`, `wordform`/`word`: a sentence, a run of two or
  three words, or a word taken from the source, in order and without repeats while they last.
  An object holding one of these fields is anchored to that fragment, and its other fields
  describe the same fragment.
- `lemma`: the anchored word lower-cased (inside a sentence: the sentence's words);
  `target_lemma` and `target_form`: the word a listing's sentence was made for, lower-cased and
  as written.
- `translation(s)`, `literal_translation`: `"[en] "` + the fragment they translate (the whole text
  is rendered paragraph by paragraph); `synonyms`: other words of the source.
- `part_of_speech`: the one given with the word, else one of noun, verb, adjective, adverb
  chosen by the word (also from an enum);
- `inflection`, `cefr_level`, `register`, `etymology`, `mnemonic`, `notes`:
  plausible values from small fixed vocabularies.
- numbers stay inside the schema's bounds (`frequency` defaults to a Zipf value, `centrality` to
  0..1); arrays have 1-5 items (translations 1-2, synonyms 1-3) within minItems/maxItems; enums
  and consts are honoured; `$ref`, `anyOf` and nullable types are followed (the first non-null
  variant).
"""

from __future__ import annotations

import math
import random
import re
import zlib
from dataclasses import dataclass
from typing import Any

FALLBACK_GREEK = (
    "Ο βοριάς και ο ήλιος μάλωναν για το ποιος είναι πιο δυνατός. "
    "Είδαν έναν ταξιδιώτη με βαρύ παλτό και συμφώνησαν να δοκιμάσουν τη δύναμή τους.\n\n"
    "Ο βοριάς φύσηξε με όλη του τη δύναμη, όμως ο ταξιδιώτης τυλίχτηκε πιο σφιχτά. "
    "Ύστερα ο ήλιος έλαμψε ζεστά και ο ταξιδιώτης έβγαλε το παλτό του."
)

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE = re.compile(r"[^.!?;;…·\n]+[.!?;;…·]*")
_POS = ("noun", "verb", "adjective", "adverb", "pronoun", "preposition")
_INFLECTIONS = ("nominative singular", "accusative plural", "present, 3rd person singular",
                "past, 1st person plural", "genitive singular")  # fmt: skip
_CEFR = ("A1", "A2", "B1", "B2", "C1", "C2")
_REGISTERS = ("neutral", "formal", "informal", "literary")
_MAX_ITEMS = {"translations": 2, "synonyms": 3}
_DATA = re.compile(r"\s*<data>\n(?P<data>.*)\n</data>\s*", re.DOTALL)


def unwrap(text: str) -> str:
    """The data of a user message langproc delimited as `<data>`…`</data>` (else the text)."""
    match = _DATA.fullmatch(text)
    return match.group("data") if match else text


class SourceText:
    """The words, phrases, sentences and paragraphs of a request's text, handed out in order."""

    def __init__(self, text: str) -> None:
        text = unwrap(text).strip() or FALLBACK_GREEK
        self.text = text
        self.paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        entries = [line.split("\t")[0].strip() for line in lines]
        # A list of lemmas (one per line, maybe tab-separated details) rather than prose.
        listing = (len(lines) > 1 or "\t" in text) and all(
            len(e.split()) <= 3 and len(e) < 40 for e in entries
        )
        self.listing = listing
        # The second column of a listing, e.g. the part of speech given with each lemma.
        self.details = (
            {e: line.split("\t")[1].strip() for e, line in zip(entries, lines, strict=True)}
            if listing and all("\t" in line for line in lines)
            else {}
        )
        seen: set[str] = set()
        self.words: list[str] = []
        for word in entries if listing else _WORD.findall(text):
            if len(word) > 1 and word.casefold() not in seen:
                seen.add(word.casefold())
                self.words.append(word)
        if not self.words:
            self.words = _WORD.findall(FALLBACK_GREEK)
        self.sentences = (
            [_listing_sentence(self.words, i) for i in range(len(self.words))]
            if listing
            else [s.strip() for s in _SENTENCE.findall(text) if len(_WORD.findall(s)) >= 2]
        ) or [text]
        all_words = _WORD.findall(text)
        self.phrases = [
            " ".join(all_words[i : i + 2 + i % 2]) for i in range(0, max(len(all_words) - 2, 1), 3)
        ] or [self.words[0]]
        self._cursor = {"word": 0, "sentence": 0, "phrase": 0}

    def _next(self, kind: str, items: list[str]) -> str:
        index = self._cursor[kind]
        self._cursor[kind] = index + 1
        return items[index % len(items)]

    def rewind_words(self, index: int) -> None:
        self._cursor["word"] = index

    def next_word(self) -> str:
        return self._next("word", self.words)

    def next_sentence(self) -> str:
        return self._next("sentence", self.sentences)

    def next_phrase(self) -> str:
        return self._next("phrase", self.phrases)

    def translated(self) -> str:
        return "\n\n".join(f"[en] {paragraph}" for paragraph in self.paragraphs)


def _listing_sentence(words: list[str], index: int) -> str:
    """A sentence for the listing's word `index`: that word, then the next three of the list."""
    picked = [words[(index + k) % len(words)] for k in range(min(4, len(words)))]
    return " ".join(picked) + "."


@dataclass(frozen=True)
class _Anchor:
    kind: str  # "word" | "phrase" | "sentence"
    text: str


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss"):
        return name[:-1]
    return name


class SchemaFaker:
    """Builds an instance of a JSON schema whose strings come from a `SourceText`."""

    def __init__(self, schema: dict[str, Any], source: SourceText, rng: random.Random) -> None:
        self.root = schema
        self.source = source
        self.rng = rng

    def generate(self) -> Any:
        return self._value(self.root, "", None, 0)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            target: Any = self.root
            for part in str(schema["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def _value(self, schema: dict[str, Any], hint: str, anchor: _Anchor | None, index: int) -> Any:
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            if hint == "part_of_speech":
                return self._part_of_speech(schema["enum"], anchor)
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                variants = [self._resolve(v) for v in schema[key]]
                usable = [v for v in variants if v.get("type") != "null"] or variants
                return self._value(usable[0], hint, anchor, index)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = (
                "object" if "properties" in schema else "array" if "items" in schema else "string"
            )
        if kind == "object":
            return self._object(schema, anchor)
        if kind == "array":
            return self._array(schema, hint, anchor)
        if kind in ("number", "integer"):
            return self._number(schema, hint, integer=kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, hint, anchor, index)

    def _part_of_speech(self, allowed: list[str], anchor: _Anchor | None) -> str:
        """The part of speech given with the word, else a content word's, the same every time."""
        word = anchor.text if anchor else ""
        given = self.source.details.get(word)
        if given in allowed:
            return str(given)
        usual = [pos for pos in _POS[:4] if pos in allowed] or allowed
        return usual[zlib.crc32(word.casefold().encode()) % len(usual)]

    def _object(self, schema: dict[str, Any], anchor: _Anchor | None) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        if "sentence" in properties:
            anchor = _Anchor("sentence", self.source.next_sentence())
        elif "phrase" in properties:
            anchor = _Anchor("phrase", self.source.next_phrase())
        elif properties.keys() & {"wordform", "word", "lemma"}:
            anchor = _Anchor("word", self.source.next_word())
        return {name: self._value(sub, name, anchor, 0) for name, sub in properties.items()}

    def _array(self, schema: dict[str, Any], hint: str, anchor: _Anchor | None) -> list[Any]:
        low = max(int(schema.get("minItems", 1)), 0)
        high = max(int(schema.get("maxItems", _MAX_ITEMS.get(hint, 5))), low)
        count = self.rng.randint(low, min(high, max(_MAX_ITEMS.get(hint, 5), low)))
        item_schema: dict[str, Any] = schema.get("items", {})
        entry = self._resolve(item_schema).get("properties", {}).keys() & {"lemma", "wordform"}
        one_per_line = self.source.listing and bool(entry) and anchor is None
        if one_per_line:
            # A model answers a listing (lemmas to describe) with one entry per line, in order.
            count = len(self.source.words)
        items: list[Any] = []
        for i in range(count * 3):
            if len(items) == count:
                break
            if one_per_line:
                self.source.rewind_words(i)
            item = self._value(item_schema, singular(hint), anchor, i)
            if not schema.get("uniqueItems") or item not in items:
                items.append(item)
        return items

    def _number(self, schema: dict[str, Any], hint: str, *, integer: bool) -> float | int:
        default_low, default_high = {"frequency": (1.0, 7.0), "centrality": (0.0, 1.0)}.get(
            hint, (0.0, 100.0)
        )
        low = float(schema.get("minimum", schema.get("exclusiveMinimum", default_low)))
        high = float(schema.get("maximum", schema.get("exclusiveMaximum", default_high)))
        if "exclusiveMinimum" in schema:
            low = math.nextafter(low, math.inf) if not integer else math.floor(low) + 1
        if "exclusiveMaximum" in schema:
            high = math.nextafter(high, -math.inf) if not integer else math.ceil(high) - 1
        if "minimum" not in schema and "exclusiveMinimum" not in schema:
            low = min(max(default_low, low), high)
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            high = max(min(default_high, high), low)
        if integer:
            return self.rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
        return min(max(round(self.rng.uniform(low, high), 2), low), high)

    def _string(self, schema: dict[str, Any], hint: str, anchor: _Anchor | None, index: int) -> str:
        value = self._text_for(hint, anchor, index)
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if high is not None:
            value = value[: int(high)]
        return value.ljust(low, ".")

    def _text_for(self, hint: str, anchor: _Anchor | None, index: int) -> str:
        src = self.source
        fragment = anchor.text if anchor else None
        if hint == "text":
            return fragment or src.text
        if hint in ("sentence", "phrase"):
            if anchor and anchor.kind == hint:
                return anchor.text
            return src.next_sentence() if hint == "sentence" else src.next_phrase()
        if hint in ("wordform", "word"):
            return anchor.text if anchor and anchor.kind == "word" else src.next_word()
        if hint == "lemma":
            if anchor and anchor.kind == "word":
                return anchor.text.lower()
            words = _WORD.findall(anchor.text) if anchor else []
            return (words[index] if index < len(words) else src.next_word()).lower()
        if hint in ("translation", "literal_translation"):
            tag = "[en]" if hint == "translation" else "[en, literally]"
            if fragment is None:
                return src.translated()
            return f"{tag} {fragment}" if index == 0 else f"{tag} {fragment} ({index + 1})"
        if hint in ("target_lemma", "target_form") and anchor and anchor.kind == "sentence":
            first = _WORD.findall(anchor.text)[:1] or [src.next_word()]
            return first[0].lower() if hint == "target_lemma" else first[0]
        if hint == "synonym":
            return src.next_word().lower()
        known = {
            "part_of_speech": src.details.get(fragment or "")
            or _POS[len(fragment or "") % len(_POS)],
            "inflection": _INFLECTIONS[len(fragment or "") % len(_INFLECTIONS)],
            "cefr_level": self.rng.choice(_CEFR),
            "register": self.rng.choice(_REGISTERS),
            "etymology": f"From an older form of «{fragment or src.next_word()}».",
            "mnemonic": f"Picture «{fragment or src.next_word()}» written on your front door.",
            "notes": "Common in everyday speech.",
        }
        return known.get(hint) or src.next_word()


def violate(instance: Any) -> Any:
    """Give every top-level property a value of the wrong type (for the schema-violation fault)."""
    if not isinstance(instance, dict) or not instance:
        return {"unexpected": True}
    wrong: dict[str, Any] = {}
    for name, value in instance.items():
        if isinstance(value, str):
            wrong[name] = 12345
        elif isinstance(value, bool | int | float):
            wrong[name] = "not a number"
        elif isinstance(value, list):
            wrong[name] = "not a list"
        else:
            wrong[name] = ["not an object"]
    return wrong
