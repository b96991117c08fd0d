"""Storing each step's results in the result tables, in the step's checkpoint transaction,
and the shared lemma table as the catalog `describe_lemmas` consults."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, and_, case, delete, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import insert_on_conflict
from langproc.db.blobs import retain
from langproc.db.results import Audio, Lemma, Phrase, Sentence, SentenceLemma, WordForm
from langproc.db.session import SessionFactory, autocommit_scope
from langproc.pipeline.graph import Output, SourcefileKey
from langproc.steps import models


async def _replace_rows(
    session: AsyncSession,
    table: type[WordForm | Phrase | Sentence],
    sourcefile: SourcefileKey,
    items: Sequence[BaseModel],
) -> list[int]:
    """Replace the sourcefile's rows of `table` with `items`, in order; answer their ids."""
    await session.execute(delete(table).where(table.sourcefile_id == sourcefile.id))
    if not items:
        return []
    rows = [
        {"sourcefile_id": sourcefile.id, "position": i, **item.model_dump()}
        for i, item in enumerate(items)
    ]
    core = cast(Table, table.__table__)
    # A statement of the table, not ORM instances: no unit of work for hundreds of rows.
    inserted = await session.execute(
        insert(core).returning(core.c.id, sort_by_parameter_order=True), rows
    )
    return list(inserted.scalars())


async def store_words(session: AsyncSession, sourcefile: SourcefileKey, output: Output) -> None:
    words = models.Words.model_validate(output).words if output else []
    await _replace_rows(session, WordForm, sourcefile, words)


async def store_phrases(session: AsyncSession, sourcefile: SourcefileKey, output: Output) -> None:
    phrases = models.Phrases.model_validate(output).phrases if output else []
    await _replace_rows(session, Phrase, sourcefile, phrases)


KEY = ("language", "lemma", "part_of_speech")
# Rows per INSERT: well under the bound-parameter limits of both databases.
LEMMA_ROWS_PER_INSERT = 1000


async def store_lemmas(session: AsyncSession, sourcefile: SourcefileKey, output: Output) -> None:
    """Add new lemmas to the shared table; fill in ones that only had local data, and keep
    every frequency the step looked up (wordfreq's, whatever an older row says).

    One multi-row `INSERT … ON CONFLICT` in key order: concurrent checkpoints take the rows'
    locks in the same order, so they wait for each other instead of deadlocking.
    """
    if not output:
        return
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for lemma in models.Lemmas.model_validate(output).lemmas:
        values = _lemma_values(lemma)
        key = (lemma.lemma, lemma.part_of_speech)
        if key not in rows or values["described"]:
            rows[key] = {"language": sourcefile.language, **values}
    ordered = [rows[key] for key in sorted(rows)]
    upsert = insert_on_conflict(session, Lemma)
    for start in range(0, len(ordered), LEMMA_ROWS_PER_INSERT):
        statement = upsert.values(ordered[start : start + LEMMA_ROWS_PER_INSERT])
        new = statement.excluded
        fills = and_(Lemma.described.is_(False), new.described.is_(True))
        update_to: dict[str, Any] = {
            key: case((fills, new[key]), else_=getattr(Lemma, key))
            for key in ordered[0]
            if key not in KEY and key != "frequency"
        }
        update_to["frequency"] = new.frequency
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=list(KEY),
                set_=update_to,
                where=or_(fills, Lemma.frequency != new.frequency),
            )
        )


def _lemma_values(lemma: models.Lemma) -> dict[str, Any]:
    values = lemma.model_dump(by_alias=True)
    values["described"] = lemma.described or bool(
        lemma.translations or lemma.etymology or lemma.mnemonic
    )
    return values


async def store_sentences(session: AsyncSession, sourcefile: SourcefileKey, output: Output) -> None:
    sentences = models.Sentences.model_validate(output).sentences if output else []
    ids = await _replace_rows(session, Sentence, sourcefile, sentences)
    used = {lemma for sentence in sentences for lemma in sentence.lemmas}
    if not used:
        return
    lemma_ids: dict[str, list[int]] = {}
    found = await session.execute(
        select(Lemma.lemma, Lemma.id).where(
            Lemma.language == sourcefile.language, Lemma.lemma.in_(used)
        )
    )
    for lemma, lemma_id in found:
        lemma_ids.setdefault(lemma, []).append(lemma_id)
    # Every part of speech a lemma has in the shared table, as before.
    links = {
        (sentence_id, lemma_id)
        for sentence_id, sentence in zip(ids, sentences, strict=True)
        for lemma in sentence.lemmas
        for lemma_id in lemma_ids.get(lemma, ())
    }
    if links:
        await session.execute(
            insert(SentenceLemma),
            [{"sentence_id": sid, "lemma_id": lid} for sid, lid in sorted(links)],
        )


async def store_text_audio(
    session: AsyncSession, sourcefile: SourcefileKey, output: Output
) -> None:
    await session.execute(
        delete(Audio).where(Audio.sourcefile_id == sourcefile.id, Audio.sentence_position.is_(None))
    )
    if output:
        audio = models.Audio.model_validate(output)
        await retain(session, [audio.blob_key])
        session.add(
            Audio(sourcefile_id=sourcefile.id, sentence_position=None, **audio.model_dump())
        )


async def store_sentence_audio(
    session: AsyncSession, sourcefile: SourcefileKey, output: Output
) -> None:
    await session.execute(
        delete(Audio).where(
            Audio.sourcefile_id == sourcefile.id, Audio.sentence_position.is_not(None)
        )
    )
    items = models.SentenceAudios.model_validate(output).items if output else []
    await retain(session, [item.audio.blob_key for item in items])
    session.add_all(
        Audio(
            sourcefile_id=sourcefile.id,
            sentence_position=item.sentence_index,
            **item.audio.model_dump(),
        )
        for item in items
    )


class StoredLemmas:
    """The shared lemma table, as `describe_lemmas` sees it (steps.context.LemmaCatalog)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def described(
        self, language: str, keys: list[tuple[str, str]], *, by_llm: bool
    ) -> dict[tuple[str, str], models.Lemma]:
        if not keys:
            return {}
        query = select(Lemma).where(
            Lemma.language == language, tuple_(Lemma.lemma, Lemma.part_of_speech).in_(keys)
        )
        if by_llm:
            query = query.where(Lemma.described.is_(True))
        async with autocommit_scope(self.sessions) as session:
            rows = (await session.execute(query)).scalars().all()
        return {
            (row.lemma, row.part_of_speech): models.Lemma(
                lemma=row.lemma,
                part_of_speech=row.part_of_speech,
                translations=row.translations,
                etymology=row.etymology,
                register=row.register,
                cefr_level=row.cefr_level,
                frequency=row.frequency,
                mnemonic=row.mnemonic,
                synonyms=row.synonyms,
                gender=row.gender,
                article=row.article,
                plural=row.plural,
                principal_parts=row.principal_parts,
                described=row.described,
            )
            for row in rows
        }
