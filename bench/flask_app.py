"""The naive pattern langproc is measured against (the seed's Option 1): a Flask app under gunicorn
whose upload starts a fire-and-forget thread running the eight provider calls in a chain, each a
plain synchronous function, with the status and results in one table row.

Not durable: a restart loses every pipeline in flight, a failed call fails the pipeline, and
nothing bounds the provider calls in flight. Configured by environment: BASELINE_DATABASE_URL
(a SQLAlchemy psycopg URL), BASELINE_DATA_DIR (audio files), OPENAI_BASE_URL, OPENAI_API_KEY.

    gunicorn --workers 2 --threads 8 bench.flask_app:app
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import openai
from flask import Flask, Response, jsonify, request
from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, text

from langproc.providers.openai_provider import strict_json_schema
from langproc.steps.models import Lemmas, Phrases, Sentences, Translation, Words

SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline_job (
    id uuid PRIMARY KEY,
    status text NOT NULL,
    text text NOT NULL,
    language text NOT NULL,
    results jsonb NOT NULL DEFAULT '{}',
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""

M = TypeVar("M", bound=BaseModel)
app = Flask(__name__)


@cache
def database() -> Engine:
    """One pool per gunicorn worker, made after the fork (SQLAlchemy's defaults: 5 + 10)."""
    return create_engine(os.environ["BASELINE_DATABASE_URL"])


@cache
def client() -> openai.OpenAI:
    return openai.OpenAI(max_retries=2, timeout=60)


def save(job_id: str, status: str, results: dict[str, Any], error: str | None = None) -> None:
    with database().begin() as conn:
        conn.execute(
            text(
                "UPDATE baseline_job SET status = :status, error = :error, "
                "results = results || CAST(:results AS jsonb), updated_at = now() WHERE id = :id"
            ),
            {"id": job_id, "status": status, "error": error, "results": json.dumps(results)},
        )


def generate(task: str, system: str, user: str, output: type[M]) -> M:
    completion = client().chat.completions.create(
        model=os.environ.get("BASELINE_TEXT_MODEL", "gpt-4o-mini"),
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": re.sub(r"[^A-Za-z0-9_-]", "_", task),
                "schema": strict_json_schema(output),
                "strict": True,
            },
        },
    )
    return output.model_validate_json(completion.choices[0].message.content or "")


def speak(words: str) -> str:
    audio = client().audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input=words)
    data = audio.read()
    path = Path(os.environ["BASELINE_DATA_DIR"]) / f"{hashlib.sha256(data).hexdigest()}.mp3"
    path.write_bytes(data)
    return path.name


def pipeline(job_id: str, source: str) -> None:
    """The eight calls one after the other, saving each result as it comes."""
    try:
        save(job_id, "processing", {})
        translation = generate("translate", "Translate into English.", source, Translation)
        save(job_id, "processing", {"translation": translation.translation})
        words = generate("extract_words", "List the words worth learning.", source, Words)
        save(job_id, "processing", {"words": words.model_dump()["words"]})
        phrases = generate("extract_phrases", "List the idioms.", source, Phrases)
        save(job_id, "processing", {"phrases": phrases.model_dump()["phrases"]})
        asked = "\n".join(f"{w.lemma}\t{w.part_of_speech}" for w in words.words)
        lemmas = generate("describe_lemmas", "Describe these lemmas.", asked, Lemmas)
        save(job_id, "processing", {"lemmas": lemmas.model_dump()["lemmas"]})
        useful = "\n".join(lemma.lemma for lemma in lemmas.lemmas[:12])
        sentences = generate("generate_sentences", "Write example sentences.", useful, Sentences)
        save(job_id, "processing", {"sentences": sentences.model_dump()["sentences"]})
        save(job_id, "processing", {"audio": speak(source)})
        distinct = dict.fromkeys(s.sentence for s in sentences.sentences)
        save(job_id, "succeeded", {"sentence_audio": [speak(s) for s in distinct]})
    except Exception as exc:
        save(job_id, "failed", {}, f"{type(exc).__name__}: {exc}")


@app.post("/api/sourcefiles")
def create() -> tuple[Response, int]:
    body = request.get_json()
    job_id = str(uuid.uuid4())
    with database().begin() as conn:
        conn.execute(
            text(
                "INSERT INTO baseline_job (id, status, text, language) "
                "VALUES (:id, 'queued', :text, :language)"
            ),
            {"id": job_id, "text": body["text"], "language": body["language"]},
        )
    threading.Thread(target=pipeline, args=(job_id, body["text"]), daemon=True).start()
    return jsonify({"id": job_id, "status": "queued"}), 202


@app.get("/api/sourcefiles/<job_id>")
def detail(job_id: str) -> Response | tuple[Response, int]:
    with database().connect() as conn:
        row = (
            conn.execute(text("SELECT * FROM baseline_job WHERE id = :id"), {"id": job_id})
            .mappings()
            .first()
        )
    if row is None:
        return jsonify({"detail": "not found"}), 404
    return jsonify(dict(row))


@app.get("/api/sourcefiles")
def listing() -> Response:
    with database().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, status, created_at, updated_at FROM baseline_job "
                "ORDER BY created_at DESC LIMIT 50"
            )
        ).mappings()
        return jsonify({"items": [dict(row) for row in rows]})


@app.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})
