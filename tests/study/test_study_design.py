"""Study creation: coverage checks, the trials a participant sees, the CLI."""

from collections import Counter

import pytest
from study.studykit import METHODS

from depthstyle.cli import main
from depthstyle.errors import DepthStyleError, SettingsError
from depthstyle.study import StudyStore, build_design, participant_trials, scan_outputs


def test_methods_must_cover_the_same_pairs(study_files):
    (study_files / "depth" / "street__wave.png").unlink()
    (study_files / "learned" / "books__muse.png").rename(study_files / "learned" / "x.png")
    with pytest.raises(SettingsError) as err:
        build_design("s", {m: study_files / m for m in METHODS}, study_files / "contents",
                     study_files / "styles")
    msg = str(err.value)
    assert "depth lacks 1: street__wave" in msg and "learned lacks 1: books__muse" in msg
    assert "adain" not in msg.split("\n", 1)[1]


def test_missing_originals_and_bad_names_are_refused(study_files):
    (study_files / "styles" / "wave.jpg").unlink()
    with pytest.raises(SettingsError, match="no style image named wave"):
        build_design("s", {m: study_files / m for m in METHODS}, study_files / "contents",
                     study_files / "styles")
    with pytest.raises(SettingsError, match="study name"):
        build_design("a/b", {m: study_files / m for m in METHODS}, study_files / "contents",
                     study_files / "styles")
    with pytest.raises(SettingsError, match="at least two methods"):
        build_design("s", {"adain": study_files / "adain"}, study_files / "contents",
                     study_files / "styles")
    with pytest.raises(SettingsError, match="no outputs named"):
        scan_outputs(study_files / "contents")


def test_each_participant_sees_every_pair_once_in_their_own_order(study_files):
    design = build_design("s", {m: study_files / m for m in METHODS}, study_files / "contents",
                          study_files / "styles", broken_checks=2, repeat_checks=2)
    a = participant_trials(design, "token-a")
    assert a == participant_trials(design, "token-a")  # a reload gets the same screens
    b = participant_trials(design, "token-b")
    real = [t for t in a if not t.check]
    assert len(real) == len(design.pairs()) == 4 * 3
    assert Counter((t.item, *sorted((t.left, t.right))) for t in real) == \
        Counter((i, x, y) for i, x, y in design.pairs())
    assert [(t.item, t.left) for t in a] != [(t.item, t.left) for t in b]
    broken = [t for t in a if t.check == "broken"]
    assert len(broken) == 2 and all(t.broken_side in ("left", "right") for t in broken)
    for t in (t for t in a if t.check == "repeat"):
        src = a[t.repeat_of]
        assert t.id > src.id and not src.check
        assert (src.item, src.left, src.right) == (t.item, t.right, t.left)  # sides swapped
    # sides are drawn: over many participants each method is left about half the time
    lefts = Counter(t.left for tok in range(200) for t in participant_trials(design, f"t{tok}")
                    if not t.check and "adain" in (t.left, t.right))
    share = lefts["adain"] / (200 * 8)
    assert 0.45 < share < 0.55


def test_study_cli_create_list_and_refusals(study_files, capsys):
    db = str(study_files / "s.db")
    args = ["study", "create", "demo", "--contents", str(study_files / "contents"),
            "--styles", str(study_files / "styles"), "--db", db,
            *[x for m in METHODS for x in ("--method", f"{m}={study_files / m}")]]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == "/study/demo"
    assert main(args) == 1  # exists
    assert "--replace" in capsys.readouterr().err
    assert main([*args, "--replace"]) == 0
    assert main(["study", "list", "--db", db]) == 0
    assert "demo: 0 signed up, 0 answered, 0 answers" in capsys.readouterr().out

    store = StudyStore(db)  # two sign up, neither answers yet: both are counted
    store.add_participant("demo", "t1")
    store.add_participant("demo", "t2")
    assert main(["study", "list", "--db", db]) == 0
    assert "demo: 2 signed up, 0 answered, 0 answers" in capsys.readouterr().out
    assert main(["study", "report", "demo", "--db", db, "-o", str(study_files / "r")]) == 2
    assert "no answers yet" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        main(["study", "create", "x", "--method", "nolabel", "--contents", ".", "--styles",
              ".", "--db", db])
    assert bad.value.code == 2 and "expected LABEL=DIR" in capsys.readouterr().err
    store = StudyStore(db)
    with pytest.raises(DepthStyleError, match="it has: demo"):
        store.study("nope")
