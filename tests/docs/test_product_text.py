"""Product text describes the product, not how it was made.

README, docs, the changelog, benchmarks, recipes, research notes, the registry's text and every
code comment speak of versions and dates. Words that tell the development history instead
(work sessions, issue numbers, "a lent GPU", scratch branches) fail this test, with each place
named so that it can be rewritten.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCOPES = ("README.md", "CHANGELOG.md", "pyproject.toml", "docs", "benchmarks", "training",
          "research", "tools", "src", "tests", "examples", ".ci")
SUFFIXES = {".md", ".py", ".sh", ".js", ".html", ".css", ".json", ".toml", ".txt", ".csv", ""}

DIARY = re.compile(
    r"(?<![._\w])sessions?(?!['\w]*[(\[._=])"  # a work session (not onnxruntime's sessions)
    r"|\bissues? ?#?\d+"  # issue numbers
    r"|(?<![\w&])#\d{1,3}\b(?![0-9a-f;,\"'])"  # "#13"-style references (not colours)
    r"|\bsprint\b"
    r"|\bscratch (?:branch|change|probe|check|run)"
    r"|\b(?:was|were|is|be|been|being|when|where|if|a|the|next) lent\b"
    r"|\blent (?:GPU|H100|H200|machine|device)",
    re.IGNORECASE)
ALLOWED = (
    re.compile(r"InferenceSession|SessionOptions|session_config|\.sessions\b|self\.sessions"
               r"|scope=\"session\"|browser session"),
)


def _files():
    for scope in SCOPES:
        path = ROOT / scope
        if path.is_file():
            yield path
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if (f.is_file() and f.suffix in SUFFIXES and "__pycache__" not in f.parts
                        and ".egg-info" not in str(f) and f != Path(__file__).resolve()):
                    yield f


def diary_lines():
    """Every (file, line number, line) that speaks of the development history."""
    found = []
    for f in _files():
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            cleaned = line
            for allowed in ALLOWED:
                cleaned = allowed.sub("", cleaned)
            if DIARY.search(cleaned):
                found.append((str(f.relative_to(ROOT)), n, line.strip()[:120]))
    return found


def test_the_pattern_catches_diary_words_and_spares_code():
    for bad in ("measured in the eighth session", "the issue 13 target", "(#13)",
                "No GPU was lent", "in a scratch branch", "the sessions' quick check",
                "a lent H200"):
        assert DIARY.search(bad), bad
    for good in ("ort.InferenceSession(path)", "opts = ort.SessionOptions()",
                 "self.sessions['stylize']", "color: #333;", "an H200 GPU", "v4 (2026-11-27)",
                 "table #1a2b3c"):
        cleaned = good
        for allowed in ALLOWED:
            cleaned = allowed.sub("", cleaned)
        assert not DIARY.search(cleaned), good


def test_no_diary_words_in_product_text():
    found = diary_lines()
    assert not found, f"{len(found)} lines tell the development history:\n" + "\n".join(
        f"  {f}:{n}: {line}" for f, n, line in found[:60])
