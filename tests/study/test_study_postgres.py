"""The study store on PostgreSQL: a private server started by the test on 127.0.0.1.

Needs PostgreSQL's server programs (Debian: ``apt-get install postgresql``; CI installs them)
and ``psycopg``; as root the server runs as the ``postgres`` user. Skipped, with the reason,
when any of that is missing.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from study.studykit import METHODS

from depthstyle.study import StudyStore, analyse, build_design, participant_trials
from depthstyle.study.store import Answer
from depthstyle.web.server import free_port

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@pytest.fixture()
def postgres_url():
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server programs not found (apt-get install postgresql)")
    prefix: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser to start PostgreSQL as postgres")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user")
        prefix = ["runuser", "-u", "postgres", "--"]
    # not under pytest's tmp_path: its folders are private to root, and the server's user
    # must reach its data folder
    root = Path(tempfile.mkdtemp(prefix="depthstyle-pg-"))
    data = root / "data"
    if prefix:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run([*prefix, f"{bin_dir}/initdb", "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    subprocess.run([*prefix, f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l",
                    str(root / "log.txt"), "-o", f"-h 127.0.0.1 -p {port} -k {root}", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def test_the_store_runs_on_postgresql(postgres_url, study_files):
    design = build_design("pg", {m: study_files / m for m in METHODS}, study_files / "contents",
                          study_files / "styles")
    store = StudyStore(postgres_url)
    store.create_study(design)
    assert store.studies() == ["pg"] and store.study("pg") == design
    tokens = [f"participant-{i:02d}" for i in range(20)]
    for t in tokens:
        store.add_participant("pg", t)
    errors: list[str] = []

    def answer_all(token: str) -> None:
        try:
            for t in participant_trials(design, token):
                for q in range(len(design.questions)):
                    a = Answer("pg", token, t.id, q, design.items[t.item].key,
                               design.items[t.item].style, t.left, t.right, "left", t.left,
                               t.check, 500, 1.0)
                    assert store.add_answer(a)
                    assert not store.add_answer(a)  # a retry stores nothing
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(repr(exc))

    threads = [threading.Thread(target=answer_all, args=(t,)) for t in tokens]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors[:3]
    answers = store.answers("pg")
    per = len(participant_trials(design, tokens[0])) * len(design.questions)
    assert len(answers) == 20 * per
    assert len({(a.token, a.trial, a.question) for a in answers}) == len(answers)
    rep = analyse(design, answers, bootstrap=50)
    assert len(rep.participants) == 20
    store.close()
    # a second store on the same database sees the same study and schema
    assert StudyStore(postgres_url).study("pg").name == "pg"
