"""Where a study's design, participants and answers live: SQLite, or PostgreSQL by URL.

SQLite is the embedded default: WAL journal (readers never block the writer), ``synchronous
= FULL`` (a committed answer survives a killed server or a power cut), and one transaction
per answer. A ``postgresql://`` URL runs the same SQL on PostgreSQL through ``psycopg``
(install it yourself; the PostgreSQL path is not tested here, see docs/study.md).

Every answer is unique per (participant, trial, question): a retried request stores nothing
twice, and the server works out which method was chosen from the side the participant clicked
and the layout it gave them, so a client cannot claim a method it was not shown.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depthstyle.errors import DepthStyleError
from depthstyle.study.design import StudyDesign

__all__ = ["StudyStore", "Answer", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL, "
    "design TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS participants (token TEXT PRIMARY KEY, study TEXT NOT NULL "
    "REFERENCES studies(name), created DOUBLE PRECISION NOT NULL, "
    "user_agent TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS answers (study TEXT NOT NULL, token TEXT NOT NULL "
    "REFERENCES participants(token), trial INTEGER NOT NULL, question INTEGER NOT NULL, "
    "item TEXT NOT NULL, style TEXT NOT NULL, left_method TEXT NOT NULL, "
    "right_method TEXT NOT NULL, side TEXT NOT NULL, chosen TEXT NOT NULL, "
    "check_kind TEXT NOT NULL, rt_ms INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL, "
    "PRIMARY KEY (token, trial, question))",
    "CREATE INDEX IF NOT EXISTS answers_study ON answers (study)",
]


@dataclass(frozen=True)
class Answer:
    """One stored answer (a row of ``answers``)."""

    study: str
    token: str
    trial: int
    question: int
    item: str
    style: str
    left_method: str
    right_method: str
    side: str
    chosen: str
    check_kind: str
    rt_ms: int
    created: float


class StudyStore:
    """A study database: ``sqlite:///path``, a plain path (SQLite), or ``postgresql://...``.

    Thread-safe: each thread gets its own connection.
    """

    def __init__(self, url: str | os.PathLike) -> None:
        text = str(url)
        self.postgres = text.startswith(("postgresql://", "postgres://"))
        self.url = text
        if not self.postgres:
            path = text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else text
            self.path = Path(path)
            if self.path.parent and not self.path.parent.is_dir():
                raise DepthStyleError(f"{self.path}: its folder does not exist")
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        with self.transaction() as cur:
            for stmt in _SCHEMA:
                cur.execute(stmt)
            cur.execute(self._sql("SELECT value FROM meta WHERE key = ?"), ("schema_version",))
            row = cur.fetchone()
            if row is None:
                cur.execute(self._sql("INSERT INTO meta (key, value) VALUES (?, ?)"),
                            ("schema_version", str(SCHEMA_VERSION)))
            elif int(row[0]) != SCHEMA_VERSION:
                raise DepthStyleError(f"{self.url}: study database schema {row[0]}, this "
                                      f"depthstyle reads schema {SCHEMA_VERSION}")

    # --- connections ---------------------------------------------------------------------------

    def _connect(self):
        if self.postgres:
            try:
                import psycopg
            except ImportError:
                raise DepthStyleError("a postgresql:// study database needs psycopg: "
                                      "pip install 'psycopg[binary]'") from None
            return psycopg.connect(self.url)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                              check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=30000")
        return con

    def _con(self):
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
            with self._lock:
                self._all.append(con)
        return con

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        con = self._con()
        cur = con.cursor()
        if self.postgres:
            try:
                yield cur
                con.commit()
            except BaseException:
                con.rollback()
                raise
            return
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()

    # --- studies and participants ---------------------------------------------------------------

    def create_study(self, design: StudyDesign, *, replace: bool = False) -> None:
        """Store a new study.

        Raises:
            DepthStyleError: a study of that name exists and has answers, or exists and
                ``replace`` is false.
        """
        with self.transaction() as cur:
            cur.execute(self._sql("SELECT COUNT(*) FROM answers WHERE study = ?"),
                        (design.name,))
            answered = cur.fetchone()[0]
            cur.execute(self._sql("SELECT 1 FROM studies WHERE name = ?"), (design.name,))
            exists = cur.fetchone() is not None
            if exists and (answered or not replace):
                raise DepthStyleError(
                    f"study {design.name!r} exists in {self.url}"
                    + (f" with {answered} answers; create the new one under another name"
                       if answered else "; add --replace to redefine it"))
            if exists:
                cur.execute(self._sql("DELETE FROM participants WHERE study = ?"),
                            (design.name,))
                cur.execute(self._sql("DELETE FROM studies WHERE name = ?"), (design.name,))
            cur.execute(self._sql("INSERT INTO studies (name, created, design) VALUES (?, ?, ?)"),
                        (design.name, time.time(), design.to_json()))

    def study(self, name: str) -> StudyDesign:
        """The stored design.

        Raises:
            DepthStyleError: no such study (the message lists the ones there are).
        """
        return StudyDesign.from_json(self.study_json(name))

    def study_json(self, name: str) -> str:
        """The stored design as its JSON text (:meth:`study` without parsing it).

        Raises:
            DepthStyleError: no such study (the message lists the ones there are).
        """
        with self.transaction() as cur:
            cur.execute(self._sql("SELECT design FROM studies WHERE name = ?"), (name,))
            row = cur.fetchone()
        if row is None:
            have = self.studies()
            raise DepthStyleError(f"no study {name!r} in {self.url}"
                                  + (f" (it has: {', '.join(have)})" if have else
                                     " (it has none: run depthstyle study create)"))
        return row[0]

    def studies(self) -> list[str]:
        """Names of the stored studies."""
        with self.transaction() as cur:
            cur.execute("SELECT name FROM studies ORDER BY name")
            return [r[0] for r in cur.fetchall()]

    def add_participant(self, study: str, token: str, user_agent: str = "") -> None:
        """Register a participant's random token."""
        with self.transaction() as cur:
            cur.execute(self._sql("INSERT INTO participants (token, study, created, user_agent) "
                                  "VALUES (?, ?, ?, ?)"),
                        (token, study, time.time(), user_agent[:200]))

    def participant_count(self, study: str) -> int:
        """How many participants signed up for ``study`` (answered or not)."""
        with self.transaction() as cur:
            cur.execute(self._sql("SELECT COUNT(*) FROM participants WHERE study = ?"),
                        (study,))
            return int(cur.fetchone()[0])

    def participant_study(self, token: str) -> str | None:
        """The study of a token, or ``None`` for an unknown token."""
        with self.transaction() as cur:
            cur.execute(self._sql("SELECT study FROM participants WHERE token = ?"), (token,))
            row = cur.fetchone()
        return row[0] if row else None

    # --- answers ---------------------------------------------------------------------------------

    def add_answer(self, answer: Answer) -> bool:
        """Store an answer in its own transaction; ``False`` if it was stored before."""
        cols = ("study", "token", "trial", "question", "item", "style", "left_method",
                "right_method", "side", "chosen", "check_kind", "rt_ms", "created")
        values = tuple(getattr(answer, c) for c in cols)
        sql = (f"INSERT INTO answers ({', '.join(cols)}) VALUES "
               f"({', '.join('?' * len(cols))}) ON CONFLICT DO NOTHING")
        with self.transaction() as cur:
            cur.execute(self._sql(sql), values)
            return cur.rowcount == 1

    def answered(self, token: str) -> set[tuple[int, int]]:
        """(trial, question) pairs a participant has answered."""
        with self.transaction() as cur:
            cur.execute(self._sql("SELECT trial, question FROM answers WHERE token = ?"),
                        (token,))
            return {(r[0], r[1]) for r in cur.fetchall()}

    def answers(self, study: str) -> list[Answer]:
        """Every answer of a study, oldest first."""
        with self.transaction() as cur:
            cur.execute(self._sql(
                "SELECT study, token, trial, question, item, style, left_method, right_method, "
                "side, chosen, check_kind, rt_ms, created FROM answers WHERE study = ? "
                "ORDER BY created, token, trial, question"), (study,))
            return [Answer(*r) for r in cur.fetchall()]
