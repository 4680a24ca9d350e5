"""What a preference study shows: methods' outputs per (content, style), the trials, the checks.

Each method is a folder of outputs named ``<content>__<style>.<ext>`` (``depthstyle stylize
--name '{content}__{style}'`` writes them). Every method must cover the same (content, style)
items. A trial shows one item's photo, painting and the outputs of two methods; every pair of
methods on every item is a trial. Two kinds of attention check are mixed in:

* ``broken``: one side is a plainly broken output (a method's output turned upside down with
  its colours inverted); the right answer is the other side.
* ``repeat``: a trial a participant already saw comes back with the sides swapped; an
  attentive participant picks the same *output* again. (Two identical images side by side
  cannot be answered wrongly in a forced choice, so the "identical pair" check is this
  repeated identical pair.)
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from depthstyle.errors import SettingsError

__all__ = ["StudyItem", "StudyDesign", "Trial", "scan_outputs", "build_design",
           "participant_trials", "DEFAULT_QUESTIONS"]

DEFAULT_QUESTIONS = (
    "Which looks better as a painting of this photo?",
    "In which does the scene's depth read more clearly?",
)
_EXTS = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class StudyItem:
    """One (content, style) pair: the two originals and every method's output (paths)."""

    content: str
    style: str
    content_path: str
    style_path: str
    outputs: dict[str, str]

    @property
    def key(self) -> str:
        """``content__style``."""
        return f"{self.content}__{self.style}"


@dataclass(frozen=True)
class Trial:
    """One screen: item ``item``, method ``left`` on the left, ``right`` on the right.

    ``check`` is ``""`` for a real trial, ``"broken"`` (``broken_side`` shows the broken
    output) or ``"repeat"`` (the same methods and item as trial ``repeat_of``, sides swapped).
    """

    id: int
    item: int
    left: str
    right: str
    check: str = ""
    broken_side: str = ""
    repeat_of: int = -1


@dataclass(frozen=True)
class StudyDesign:
    """A study's fixed content (stored once, as JSON, when the study is created)."""

    name: str
    methods: tuple[str, ...]
    questions: tuple[str, ...]
    items: tuple[StudyItem, ...]
    broken_checks: int = 1
    repeat_checks: int = 1
    seed: int = 0
    version: int = 1
    meta: dict[str, str] = field(default_factory=dict)

    def pairs(self) -> list[tuple[int, str, str]]:
        """Every (item, method a, method b) with a < b: the real comparisons."""
        return [(i, a, b) for i in range(len(self.items))
                for a, b in itertools.combinations(sorted(self.methods), 2)]

    def to_json(self) -> str:
        """The design as JSON (what the store keeps)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudyDesign:
        """Read :meth:`to_json`'s output."""
        d = json.loads(text)
        d["methods"] = tuple(d["methods"])
        d["questions"] = tuple(d["questions"])
        d["items"] = tuple(StudyItem(**it) for it in d["items"])
        return cls(**d)


def scan_outputs(folder: str | Path) -> dict[tuple[str, str], Path]:
    """``{(content, style): file}`` of a method's folder of ``<content>__<style>.<ext>`` files.

    Raises:
        SettingsError: not a folder, no such files, or one item in two files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SettingsError(f"{folder}: not a folder of outputs")
    found: dict[tuple[str, str], Path] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix.lower() not in _EXTS or "__" not in f.stem or f.name.startswith("."):
            continue
        content, _, style = f.stem.partition("__")
        if not content or not style or "__" in style:
            continue
        if (content, style) in found:
            raise SettingsError(f"{folder}: {found[content, style].name} and {f.name} are both "
                                f"{content}__{style}; keep one")
        found[content, style] = f
    if not found:
        raise SettingsError(f"{folder}: no outputs named <content>__<style>.png (write them "
                            "with depthstyle stylize --name '{content}__{style}')")
    return found


def _original(folder: Path, stem: str, what: str) -> Path:
    for f in sorted(folder.iterdir()) if folder.is_dir() else []:
        if f.stem == stem and f.suffix.lower() in _EXTS:
            return f
    raise SettingsError(f"{folder}: no {what} image named {stem}.* (the outputs name it)")


def build_design(name: str, methods: Mapping[str, str | Path], contents: str | Path,
                 styles: str | Path, questions: Sequence[str] = DEFAULT_QUESTIONS, *,
                 broken_checks: int = 1, repeat_checks: int = 1, seed: int = 0
                 ) -> StudyDesign:
    """Check the methods' folders and build the study.

    Raises:
        SettingsError: fewer than two methods, a bad name, methods that do not cover the same
            (content, style) items (the message lists what each one lacks), or a missing
            original photo or painting.
    """
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise SettingsError(f"study name {name!r}: use letters, digits, '-' and '_'")
    if len(methods) < 2:
        raise SettingsError("a study compares at least two methods (--method LABEL=DIR twice)")
    if not questions:
        raise SettingsError("a study needs at least one question")
    scanned = {label: scan_outputs(d) for label, d in methods.items()}
    every = set().union(*(set(s) for s in scanned.values()))
    missing = {label: sorted(every - set(s)) for label, s in scanned.items() if every - set(s)}
    if missing:
        lines = [f"  {label} lacks {len(m)}: " + ", ".join(f"{c}__{s}" for c, s in m[:5])
                 + (" ..." if len(m) > 5 else "") for label, m in missing.items()]
        raise SettingsError("the methods do not cover the same (content, style) pairs:\n"
                            + "\n".join(lines))
    items = []
    for content, style in sorted(every):
        items.append(StudyItem(
            content=content, style=style,
            content_path=str(_original(Path(contents), content, "content").resolve()),
            style_path=str(_original(Path(styles), style, "style").resolve()),
            outputs={label: str(s[content, style].resolve()) for label, s in scanned.items()}))
    return StudyDesign(name=name, methods=tuple(methods), questions=tuple(questions),
                       items=tuple(items), broken_checks=broken_checks,
                       repeat_checks=repeat_checks, seed=seed)


def participant_trials(design: StudyDesign, token: str) -> list[Trial]:
    """The trials one participant sees, in their order, sides and checks drawn for them.

    Deterministic in (design seed, token): a participant who reloads the page gets the same
    sequence. Repeat checks come after the trial they repeat.
    """
    rng = random.Random(f"{design.seed}:{token}")
    real = []
    for item, a, b in design.pairs():
        left, right = (a, b) if rng.random() < 0.5 else (b, a)
        real.append((item, left, right))
    rng.shuffle(real)
    order: list[dict] = [dict(item=i, left=left, right=right) for i, left, right in real]
    for _ in range(design.broken_checks):
        item, a, _ = rng.choice(design.pairs())
        side = rng.choice(("left", "right"))
        order.insert(rng.randrange(len(order) + 1),
                     dict(item=item, left=a, right=a, check="broken", broken_side=side))
    for _ in range(min(design.repeat_checks, len(real))):
        src = rng.randrange(len(order))
        while order[src].get("check"):
            src = rng.randrange(len(order))
        at = rng.randrange(src + 1, len(order) + 1)
        order.insert(at, dict(order[src], left=order[src]["right"], right=order[src]["left"],
                              check="repeat", repeat_of=src))
        # trials after the insertion point moved by one; keep repeat_of pointing at its source
        for t in order[at + 1:]:
            if t.get("check") == "repeat" and t["repeat_of"] >= at:
                t["repeat_of"] += 1
    return [Trial(id=i, **t) for i, t in enumerate(order)]

