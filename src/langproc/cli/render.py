"""How the CLI shows API answers to a person (`--json` prints them as they are)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Column, Table

STATUS_STYLE = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "retrying": "yellow"}


def print_json(console: Console, body: Any) -> None:
    console.print_json(json.dumps(body, ensure_ascii=False))


def _status(status: str) -> str:
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def print_steps(console: Console, body: dict[str, Any]) -> None:
    title = f"{body['id']} · {body['language']} · {body.get('title') or body['kind']}"
    steps = Table("step", "status", "attempts", "note", title=title)
    for step in body["steps"]:
        note = step["error"]["message"] if step["error"] else ""
        if step["status"] == "retrying" and step["next_attempt_at"]:
            note = f"{note} (next attempt {step['next_attempt_at']})"
        steps.add_row(step["name"], _status(step["status"]), str(step["attempts"]), note)
    console.print(steps)
    progress = body["progress"]
    console.print(
        f"{_status(body['status'])}: {progress['completed']}/{progress['total']} steps done"
    )


def print_results(console: Console, body: dict[str, Any]) -> None:
    print_steps(console, body)
    if body["text"]:
        console.rule("text")
        console.print(body["text"])
    if body["translation"]:
        console.rule("translation")
        console.print(body["translation"])
    if body["words"]:
        words = Table("word form", "lemma", "part of speech", "translations", "Zipf")
        for word in body["words"]:
            words.add_row(
                word["wordform"], word["lemma"], word["part_of_speech"] or "",
                ", ".join(word["translations"]), f"{word['frequency']:.1f}",
            )  # fmt: skip
        console.print(words)
    for sentence in body["sentences"]:
        console.print(f"• {sentence['sentence']} — {sentence['translation']}")
    console.print(f"usage: {body['usage']}")


def print_list(console: Console, page: dict[str, Any]) -> None:
    table = Table("status", "progress", "language", "title", "created")
    table.columns.insert(0, Column("id", no_wrap=True, min_width=36))
    for item in page["items"]:
        progress = item["progress"]
        table.add_row(
            item["id"], _status(item["status"]), f"{progress['completed']}/{progress['total']}",
            item["language"], item.get("title") or item["kind"],
            item["created_at"][:16].replace("T", " "),
        )  # fmt: skip
    console.print(table)
    if page["next_cursor"]:
        console.print(f"more: --cursor {page['next_cursor']}")
