"""The study over HTTP: the participant API, 50 concurrent participants, a killed server, the
report from the stored answers."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image
from study.studykit import METHODS

from depthstyle.cli import main
from depthstyle.study import StudyStore

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")


def _app(db, tiny_model, **limits):
    from depthstyle.pipeline import Stylizer
    from depthstyle.web import WebConfig, create_app

    return create_app(Stylizer(tiny_model, depth=None), WebConfig(**limits),
                      study_store=StudyStore(db))


@pytest.fixture()
def client(study_db, tiny_model):
    from fastapi.testclient import TestClient

    with TestClient(_app(study_db, tiny_model), base_url="http://127.0.0.1") as c:
        yield c


def _answer_all(c, token, trials, questions, pick=lambda t, q: "left"):
    for t in trials:
        for q in range(len(questions)):
            r = c.post("/study/demo/answers", json=dict(token=token, trial=t["id"], question=q,
                                                         side=pick(t, q), rt_ms=800 + q))
            assert r.status_code == 200, r.text


def test_a_participant_gets_opaque_trials_and_each_answer_is_stored_once(client, study_db):
    assert "Which do you prefer" in client.get("/study/demo").text
    assert client.get("/study/nope").status_code == 404
    token = client.post("/study/demo/participants").json()["token"]
    data = client.get(f"/study/demo/participants/{token}").json()
    assert data["questions"][0].startswith("Which looks better") and data["answered"] == []
    assert len(data["trials"]) == 12 + 1 + 1  # 4 items x 3 pairs, a broken and a repeat check
    text = str(data["trials"])
    assert not any(m in text for m in METHODS)  # the page cannot tell which method is which
    from depthstyle.study import participant_trials

    real = [t.id for t in participant_trials(StudyStore(study_db).study("demo"), token)
            if not t.check]
    first = data["trials"][real[0]]
    img = client.get(first["left"])
    assert img.status_code == 200 and Image.open(io.BytesIO(img.content)).size == (80, 60)
    body = dict(token=token, trial=first["id"], question=0, side="right", rt_ms=1234)
    assert client.post("/study/demo/answers", json=body).json() == {"stored": True}
    assert client.post("/study/demo/answers", json=body).json() == {"stored": False}
    assert client.post("/study/demo/answers", json={**body, "side": "up"}).status_code == 422
    assert client.post("/study/demo/answers", json={**body, "token": "x" * 20}).status_code \
        == 404
    # a cross-site page cannot post answers
    assert client.post("/study/demo/answers", json=body,
                       headers={"origin": "https://evil.example"}).status_code == 403
    answers = StudyStore(study_db).answers("demo")
    assert len(answers) == 1 and answers[0].side == "right" and answers[0].rt_ms == 1234
    assert answers[0].chosen == answers[0].right_method
    assert client.get(f"/study/demo/participants/{token}").json()["answered"] == [[first["id"],
                                                                                    0]]


def test_the_broken_output_is_the_method_output_upside_down_and_inverted(client, study_db):
    from depthstyle.study import participant_trials

    token = client.post("/study/demo/participants").json()["token"]
    design = StudyStore(study_db).study("demo")
    t = next(t for t in participant_trials(design, token) if t.check == "broken")
    got = np.asarray(Image.open(io.BytesIO(client.get(
        f"/study/demo/image/{token}/{t.id}/{t.broken_side}").content)).convert("RGB"))
    src = np.asarray(Image.open(design.items[t.item].outputs[t.left]).convert("RGB"))
    np.testing.assert_array_equal(got, 255 - src[::-1])
    other = "right" if t.broken_side == "left" else "left"
    good = np.asarray(Image.open(io.BytesIO(client.get(
        f"/study/demo/image/{token}/{t.id}/{other}").content)).convert("RGB"))
    np.testing.assert_array_equal(good, src)
    r = client.post("/study/demo/answers", json=dict(token=token, trial=t.id, question=0,
                                                      side=t.broken_side, rt_ms=100))
    assert r.status_code == 200
    assert StudyStore(study_db).answers("demo")[0].chosen == "broken"


def test_fifty_concurrent_participants_store_every_answer_exactly_once(study_db, tiny_model):
    from depthstyle.web.server import running_server

    errors: list[str] = []
    expected = {}

    def participant(url: str, i: int) -> None:
        try:
            with httpx.Client(base_url=url, timeout=60) as c:
                token = c.post("/study/demo/participants").json()["token"]
                data = c.get(f"/study/demo/participants/{token}").json()
                n = 0
                for t in data["trials"]:
                    for q in range(len(data["questions"])):
                        body = dict(token=token, trial=t["id"], question=q,
                                    side="left" if (i + t["id"] + q) % 2 else "right",
                                    rt_ms=500 + i)
                        assert c.post("/study/demo/answers", json=body).json()["stored"]
                        n += 1
                        if (t["id"] + q) % 7 == 0:  # a client retry: must not store twice
                            assert not c.post("/study/demo/answers",
                                              json=body).json()["stored"]
                expected[token] = n
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(f"{i}: {exc!r}")

    # 50 participants from one test machine: the per-address signup limit would refuse most
    with running_server(_app(study_db, tiny_model, study_signups_per_minute=0)) as url:
        threads = [threading.Thread(target=participant, args=(url, i)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors[:3]
    assert len(expected) == 50
    con = sqlite3.connect(study_db)
    rows = con.execute("SELECT token, COUNT(*) FROM answers GROUP BY token").fetchall()
    assert dict(rows) == expected
    assert con.execute("SELECT COUNT(*) FROM (SELECT DISTINCT token, trial, question FROM "
                       "answers)").fetchone()[0] == sum(expected.values())
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_killing_the_server_mid_study_loses_no_committed_answer(study_db, tmp_path):
    from depthstyle.web.server import free_port

    port = free_port()
    env = {**os.environ, "DEPTHSTYLE_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "depthstyle", "serve", "--study-db",
                             str(study_db), "--port", str(port), "--depth-model", "none",
                             "--device", "cpu", "-q"], env=env, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    acknowledged: list[tuple[str, int, int]] = []
    stop = threading.Event()
    try:
        with httpx.Client(base_url=url, timeout=30) as c:
            deadline = time.monotonic() + 120
            while True:
                try:
                    c.get("/api/health")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.communicate()[1][-2000:]
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.2)
            tokens = [c.post("/study/demo/participants").json()["token"] for _ in range(4)]
            plans = {tok: c.get(f"/study/demo/participants/{tok}").json()["trials"]
                     for tok in tokens}

        def answer(tok: str) -> None:
            with httpx.Client(base_url=url, timeout=30) as c:
                for t in plans[tok]:
                    for q in (0, 1):
                        if stop.is_set():
                            return
                        try:
                            r = c.post("/study/demo/answers", json=dict(
                                token=tok, trial=t["id"], question=q, side="left", rt_ms=1))
                        except httpx.TransportError:
                            return  # the server died under this request
                        if r.status_code == 200:
                            acknowledged.append((tok, t["id"], q))

        threads = [threading.Thread(target=answer, args=(tok,)) for tok in tokens]
        for t in threads:
            t.start()
        while len(acknowledged) < 30:
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)  # no shutdown, no checkpoint
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    con = sqlite3.connect(study_db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = set(con.execute("SELECT token, trial, question FROM answers").fetchall())
    assert set(acknowledged) <= stored
    assert len(acknowledged) < 4 * 14 * 2  # it really was mid-study


def test_report_from_stored_answers(study_db, client, tmp_path, capsys):
    # five participants prefer "learned" over everything; one always picks the broken output
    from depthstyle.study import participant_trials

    design = StudyStore(study_db).study("demo")
    rank = {"adain": 0, "depth": 1, "learned": 2}
    for i in range(6):
        token = client.post("/study/demo/participants").json()["token"]
        trials = {t.id: t for t in participant_trials(design, token)}
        data = client.get(f"/study/demo/participants/{token}").json()

        def pick(t, q, trials=trials, cheat=(i == 5)):
            tr = trials[t["id"]]
            if tr.check == "broken":
                return tr.broken_side if cheat else ("left" if tr.broken_side == "right"
                                                     else "right")
            return "left" if rank[tr.left] > rank[tr.right] else "right"

        _answer_all(client, token, data["trials"], data["questions"], pick)
    out = tmp_path / "report"
    assert main(["study", "report", "demo", "--db", str(study_db), "-o", str(out),
                 "--bootstrap", "100"]) == 0
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("question,style,method_a,method_b,n,wins_a,rate_a")
    overall = [r.split(",") for r in rows[1:] if ",all," in r]
    by_pair = {(r[-8], r[-7]): r for r in overall}
    assert by_pair["adain", "learned"][-5] == "0"  # adain never beats learned
    assert by_pair["adain", "learned"][-6] == str(5 * 4)  # 5 kept participants x 4 items
    participants = (out / "participants.csv").read_text()
    assert participants.count("chose the broken output") == 1
    html = (out / "report.html").read_text()
    assert "Bradley–Terry" in html and "Krippendorff" in html and "1 excluded" in html
    bt = [r.split(",") for r in (out / "bradley_terry.csv").read_text().splitlines()[1:]]
    first_q = [r for r in bt if r[0] == bt[0][0]]
    assert [r[1] for r in first_q] == ["learned", "depth", "adain"]


def test_signups_are_limited_per_address_and_minute():
    from depthstyle.web.study import SignupLimit

    now = [1000.0]
    limit = SignupLimit(3, clock=lambda: now[0])
    assert [limit.retry_after("a") for _ in range(3)] == [0, 0, 0]
    now[0] += 20.0
    assert limit.retry_after("a") == 41  # the first signup leaves the window in 40 s
    assert limit.retry_after("b") == 0  # another address has its own window
    now[0] += 40.0
    assert limit.retry_after("a") == 0  # 60 s after the first
    for i in range(10_001):  # many addresses: the quiet ones are forgotten after a minute
        limit.retry_after(f"10.0.{i // 256}.{i % 256}")
    now[0] += 61.0
    assert limit.retry_after("c") == 0 and len(limit._seen) == 1
    unlimited = SignupLimit(0)
    assert all(unlimited.retry_after("a") == 0 for _ in range(100))


def test_too_many_signups_get_429_with_retry_after(study_db, tiny_model):
    from fastapi.testclient import TestClient

    app = _app(study_db, tiny_model, study_signups_per_minute=2)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert [c.post("/study/demo/participants").status_code for _ in range(2)] == [200, 200]
        r = c.post("/study/demo/participants")
        assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 61
        err = r.json()["error"]
        assert err["type"] == "too_many_requests" and "too many new participants" in err["message"]
        assert c.get("/study/demo").status_code == 200  # the page itself is not limited
