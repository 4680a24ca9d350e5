"""The study pages: ``/study/NAME`` for participants, answers into a :class:`StudyStore`.

A participant gets a random token (no personal data). Their trials, sides and checks come from
:func:`~depthstyle.study.design.participant_trials` on the server; image URLs name only the
token, the trial and the position (``left``...), never a method, so nothing on the page says
which output is which. An answer names the side clicked; the server records the method shown
there.
"""

from __future__ import annotations

import io
import secrets
import threading
import time
from collections import defaultdict, deque
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from depthstyle.errors import DepthStyleError
from depthstyle.study.design import StudyDesign, Trial, participant_trials
from depthstyle.study.store import Answer, StudyStore

__all__ = ["study_router", "SignupLimit"]

_STATIC = Path(__file__).parent / "static"
_POSITIONS = ("content", "style", "left", "right")


class AnswerIn(BaseModel):
    """What the page posts for one question of one trial."""

    token: str = Field(min_length=8, max_length=64)
    trial: int = Field(ge=0)
    question: int = Field(ge=0)
    side: str = Field(pattern="^(left|right)$")
    rt_ms: int = Field(ge=0, le=24 * 3600 * 1000)


def _store(request: Request) -> StudyStore:
    store = getattr(request.app.state, "study_store", None)
    if store is None:
        raise HTTPException(404, "this server runs no study (start it with --study-db)")
    return store


@lru_cache(maxsize=16)
def _parsed(design_json: str) -> StudyDesign:
    """A stored design, parsed once per text (every request reads the text)."""
    return StudyDesign.from_json(design_json)


@lru_cache(maxsize=64)
def _trials(design_json: str, token: str) -> tuple[Trial, ...]:
    return tuple(participant_trials(_parsed(design_json), token))


def _design_json(store: StudyStore, name: str) -> str:
    try:
        return store.study_json(name)
    except DepthStyleError as exc:
        raise HTTPException(404, str(exc)) from None


def _design(store: StudyStore, name: str) -> StudyDesign:
    return _parsed(_design_json(store, name))


def _participant(store: StudyStore, name: str, token: str) -> tuple[StudyDesign, tuple]:
    if store.participant_study(token) != name:
        raise HTTPException(404, "unknown participant token for this study")
    text = _design_json(store, name)
    return _parsed(text), _trials(text, token)


@lru_cache(maxsize=32)
def _broken_png(path: str) -> bytes:
    """A plainly broken output: upside down, colours inverted."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        bad = ImageOps.invert(ImageOps.flip(im.convert("RGB")))
    buf = io.BytesIO()
    bad.save(buf, format="PNG")
    return buf.getvalue()


class SignupLimit:
    """At most ``per_minute`` new participants per client address in any 60 s (0 = no limit).

    Each token stores each of its answers once, so the store can only grow through new
    participants; this bounds how fast one address can make them.
    """

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.per_minute, self.clock = int(per_minute), clock
        self._seen: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int:
        """0 and the signup counted, or the seconds until this address may sign up again."""
        if self.per_minute <= 0:
            return 0
        now = self.clock()
        with self._lock:
            if len(self._seen) > 10_000:  # forget addresses quiet for a minute
                for old in [a for a, q in self._seen.items() if not q or now - q[-1] >= 60.0]:
                    del self._seen[old]
            seen = self._seen[address]
            while seen and now - seen[0] >= 60.0:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return max(1, int(60.0 - (now - seen[0])) + 1)
            seen.append(now)
            return 0


def study_router(signups_per_minute: int = 30) -> APIRouter:
    """The routes; the app holds the store as ``app.state.study_store``."""
    router = APIRouter()
    limit = SignupLimit(signups_per_minute)

    @router.get("/study/{name}", include_in_schema=False)
    def page(name: str, request: Request):
        _design(_store(request), name)
        return FileResponse(_STATIC / "study.html", headers={"cache-control": "no-store"})

    @router.post("/study/{name}/participants")
    def new_participant(name: str, request: Request) -> dict:
        """Register a participant; returns their random token."""
        store = _store(request)
        _design(store, name)
        wait = limit.retry_after(request.client.host if request.client else "")
        if wait:
            raise HTTPException(429, f"too many new participants from this address; try again "
                                     f"in {wait} s", headers={"Retry-After": str(wait)})
        token = secrets.token_urlsafe(16)
        store.add_participant(name, token, request.headers.get("user-agent", ""))
        return {"token": token}

    @router.get("/study/{name}/participants/{token}")
    def trials(name: str, token: str, request: Request) -> dict:
        """The participant's trials (image URLs only), the questions, what is answered."""
        store = _store(request)
        design, order = _participant(store, name, token)
        base = f"/study/{name}/image/{token}"
        return {
            "study": name, "questions": list(design.questions),
            "trials": [{"id": t.id, **{p: f"{base}/{t.id}/{p}" for p in _POSITIONS}}
                       for t in order],
            "answered": sorted(store.answered(token)),
        }

    @router.get("/study/{name}/image/{token}/{trial}/{position}", include_in_schema=False)
    def image(name: str, token: str, trial: int, position: str, request: Request):
        store = _store(request)
        design, order = _participant(store, name, token)
        if position not in _POSITIONS or not 0 <= trial < len(order):
            raise HTTPException(404, "no such image")
        t = order[trial]
        item = design.items[t.item]
        cache = {"cache-control": "private, max-age=3600"}
        if position in ("content", "style"):
            return FileResponse(item.content_path if position == "content" else item.style_path,
                                headers=cache)
        method = t.left if position == "left" else t.right
        if t.check == "broken" and t.broken_side == position:
            return Response(_broken_png(item.outputs[method]), media_type="image/png",
                            headers=cache)
        return FileResponse(item.outputs[method], headers=cache)

    @router.post("/study/{name}/answers")
    def answer(name: str, body: AnswerIn, request: Request) -> dict:
        """Store one answer (once: a repeated post stores nothing and says so)."""
        store = _store(request)
        design, order = _participant(store, name, body.token)
        if body.trial >= len(order) or body.question >= len(design.questions):
            raise HTTPException(422, "no such trial or question")
        t = order[body.trial]
        item = design.items[t.item]
        chosen = t.left if body.side == "left" else t.right
        if t.check == "broken":
            chosen = "broken" if body.side == t.broken_side else chosen
        stored = store.add_answer(Answer(
            study=name, token=body.token, trial=body.trial, question=body.question,
            item=item.key, style=item.style, left_method=t.left, right_method=t.right,
            side=body.side, chosen=chosen,
            check_kind=t.check + (f":{t.repeat_of}" if t.check == "repeat" else ""),
            rt_ms=body.rt_ms, created=time.time()))
        return {"stored": stored}

    return router
