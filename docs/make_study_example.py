"""Build docs/study-example/: a study like the paper's, answered by SIMULATED participants.

Three methods on four photos with measured depth (``../shared/depth``, Kinect/TUM/SUN RGB-D
maps in millimetres, read from ``<photo>.depth.png`` beside each photo) and three paintings:
uniform AdaIN (``--strength uniform``), depth-aware (the default) and the learned strength
module (``--strength learned``). The answers come from a simulation with preferences chosen for
illustration (Bradley-Terry strengths below; a repeated screen gets the same answer 9 times in
10; two participants answer at random), not from people; the report says so at the top. It
shows what the report looks like and that the analysis recovers the simulated preferences; it
says nothing about which method people prefer.

Run: python docs/make_study_example.py   (about a minute on 2 cores)
"""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

from depthstyle.cli import main as cli
from depthstyle.study import (
    StudyStore,
    analyse,
    build_design,
    participant_trials,
    power_table,
    write_report,
)
from depthstyle.study.store import Answer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PHOTOS = ["kinect_slambook_ch5_1", "kinect_slambook_ch5_4", "sunrgbd_open3d_sample",
          "tum_slambook_ch7_1"]
STYLES = ["la_muse", "the_resevoir_at_poitiers", "woman_with_hat_matisse"]
# simulated Bradley-Terry log-strengths per question (illustration only)
SIMULATED = [{"adain": 0.0, "depth": 0.35, "learned": 0.45},
             {"adain": 0.0, "depth": 0.9, "learned": 1.0}]


def _photos(work: Path) -> Path:
    out = work / "photos"
    out.mkdir()
    available = sorted(p.stem for p in (SHARED / "depth").glob("*.jpg")
                       if not p.stem.startswith("middlebury"))
    chosen = [p for p in PHOTOS if p in available] or available[:4]
    for stem in chosen[:4]:
        for suffix in (".jpg", ".depth.png"):
            (out / f"{stem}{suffix}").symlink_to(SHARED / "depth" / f"{stem}{suffix}")
    return out


def main() -> None:
    out_dir = ROOT / "docs" / "study-example"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos = _photos(work)
        styles = work / "styles"
        styles.mkdir()
        for s in STYLES:
            (styles / f"{s}.jpg").symlink_to(SHARED / "images" / "style" / f"{s}.jpg")
        for label, extra in (("adain", ["--strength", "uniform"]), ("depth", []),
                             ("learned", ["--strength", "learned"])):
            code = cli(["stylize", str(photos), "-s", str(styles), "--content-size", "256",
                        "--name", "{content}__{style}", "-q", "-o", str(work / label), *extra])
            assert code == 0, label
        design = build_design("paper-like", {m: work / m for m in ("adain", "depth", "learned")},
                              photos, styles)
        store = StudyStore(work / "study.db")
        store.create_study(design)
        rng = random.Random(0)
        for p in range(26):
            token = f"simulated-{p:02d}"
            store.add_participant(design.name, token)
            careless = p >= 24  # two participants answer at random
            first: dict[tuple[int, int], str] = {}
            for t in participant_trials(design, token):
                item = design.items[t.item]
                for q, strengths in enumerate(SIMULATED):
                    if t.check == "repeat" and not careless and rng.random() < 0.9:
                        # people mostly keep their answer on a screen seen before
                        src = first[t.repeat_of, q]
                        side = "left" if src == t.left else "right"
                    elif t.check == "broken":
                        side = t.broken_side if careless and rng.random() < 0.5 else \
                            ("left" if t.broken_side == "right" else "right")
                    elif careless:
                        side = rng.choice(("left", "right"))
                    else:
                        pl = 1 / (1 + math.exp(strengths[t.right] - strengths[t.left]))
                        side = "left" if rng.random() < pl else "right"
                    chosen = t.left if side == "left" else t.right
                    if t.check == "broken" and side == t.broken_side:
                        chosen = "broken"
                    first.setdefault((t.id, q), chosen)
                    store.add_answer(Answer(
                        design.name, token, t.id, q, item.key, item.style, t.left, t.right,
                        side, chosen, t.check + (f":{t.repeat_of}" if t.check == "repeat"
                                                 else ""),
                        int(rng.lognormvariate(8.0, 0.4)), float(p)))
        rep = analyse(design, store.answers(design.name), bootstrap=1000)
        banner = ("SIMULATED ANSWERS: 26 simulated participants (24 answering from preferences "
                  "chosen for illustration, 2 at random), not people. This page shows what the "
                  "report looks like; it says nothing about which method people prefer.")
        write_report(rep, out_dir, overwrite=True, banner=banner)
    print("| true win rate of one method | judgements per pair for 80 % power (α = 0.05) |")
    print("|---|---|")
    for rate, n in power_table((0.55, 0.6, 0.65, 0.7, 0.75, 0.8)):
        print(f"| {rate:.2f} | {n} |")


if __name__ == "__main__":
    main()
