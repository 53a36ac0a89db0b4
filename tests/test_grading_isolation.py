"""The OS sandbox against a hostile student: attacks on the machine, not on the judging.

The attacks (``hostile_sandbox.py``) are graded in the one shared run of ``grading_batch.batch()``, beside an
honest student, an untouched release and the attacks on judging; ``test_grading_attacks.py`` checks there that
the victims' files are byte-identical and every CSV total equals its feedback's score. Here: each attack
earns nothing and was really tried, no file appeared where an attack aimed, nothing an attacker started is
alive, no kernel reached the grader's network; and, without a kernel, the refusals around the sandbox.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from tlcourse.grading import isolation
from tlcourse.grading.sandbox import read_outputs

pytestmark = pytest.mark.skipif(not isolation.probe().ok, reason=f"no OS sandbox here: {isolation.probe().reason}")

ATTACKS = ["files", "chdir_race", "sqlite", "fork_exec", "fork_setsid", "network", "startup_file", "pth"]


@pytest.fixture(scope="module")
def batch():
    from grading_batch import batch

    return batch()


def _alive_with(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("student", ATTACKS)
def test_an_attack_on_the_machine_earns_nothing(batch, student):
    from grading_batch import feedback

    text = feedback(student)
    assert batch["rows"][student]["total"] == "0", text
    assert batch["rows"][student]["isolation"] == "bwrap"
    if student != "startup_file":  # it ends by killing its kernel: the re-run skips it
        assert "AttackBlocked" in text, f"the attack did not run to its end: {text}"


def test_no_file_appeared_where_an_attack_aimed(batch):
    from hostile_sandbox import PLANTED

    tmp = batch["tmp"]
    assert [p for p in [*PLANTED, tmp / "new.txt", tmp / "attached.db"] if p.exists()] == []
    assert (tmp / "outside.txt").read_text() == "precious"


def test_nothing_an_attacker_started_is_alive_after_the_run(batch):
    from hostile_sandbox import MARKER

    assert _alive_with(MARKER) == []


def test_no_kernel_reached_the_graders_network(batch):
    from hostile_sandbox import LISTENER

    with pytest.raises(BlockingIOError):
        LISTENER.accept()


def test_links_huge_files_and_non_files_are_refused_and_ids_neutralised(tmp_path):
    """No kernel runs here: every submission is refused before one would start."""
    from grading_batch import EXAMPLE
    from tlcourse.grading.grade import grade

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "link.ipynb").symlink_to(EXAMPLE)
    with open(subs / "huge.ipynb", "wb") as f:
        f.truncate(60 * 2**20)  # sparse: 60 MB on paper
    os.mkfifo(subs / "fifo.ipynb")
    (subs / "=HYPERLINK(1).ipynb").write_bytes(b"")
    grade([subs], [EXAMPLE], tmp_path / "g.csv", jobs=1, log=lambda m: None)
    with open(tmp_path / "g.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["'=HYPERLINK(1)", "fifo", "huge", "link"]
    assert {r["total"] for r in rows.values()} == {"0"}
    assert {rows[s]["isolation"] for s in ("link", "huge", "fifo")} == {"no kernel run"}
    said = {s: (tmp_path / "feedback" / f"{s}.md").read_text() for s in ("link", "huge", "fifo")}
    assert "symbolic link" in said["link"] and "60 MB, more than" in said["huge"] and "not a regular file" in said["fifo"]


def test_grading_refuses_without_a_sandbox_unless_told(monkeypatch, tmp_path):
    from grading_batch import EXAMPLE
    from tlcourse.grading import grade as grade_module

    monkeypatch.setattr(grade_module.iso, "probe", lambda: isolation.Probe(False, "bwrap is not installed: fix"))
    with pytest.raises(grade_module.IsolationUnavailable, match="bwrap is not installed"):
        grade_module.grade([tmp_path], [EXAMPLE], tmp_path / "g.csv", log=lambda m: None)
    said: list[str] = []
    assert grade_module.choose_isolation(True, said.append) == "weak" and "WITHOUT an OS sandbox" in said[0]


def test_outputs_where_every_kernel_can_read_them_are_refused(tmp_path):
    from grading_batch import EXAMPLE
    from tlcourse.grading.grade import grade

    package = Path(isolation.tlcourse.__file__).parent
    with pytest.raises(ValueError, match="every grading kernel can read"):
        grade([tmp_path], [EXAMPLE], package / "grades.csv", log=lambda m: None)


def test_outputs_are_read_without_following_links(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.json").write_text("{}")
    (tmp_path / "out" / "b.json").symlink_to("/etc/hostname")
    (tmp_path / "out" / "c d.json").write_text("{}")
    (tmp_path / "linked").symlink_to(tmp_path / "out")
    assert read_outputs(str(tmp_path / "out")) == {"a.json": b"{}"}
    assert read_outputs(str(tmp_path / "linked")) == {}


def _exit_hard() -> None:
    os._exit(3)


def test_the_pool_returns_results_errors_and_deaths_in_any_order():
    from tlcourse.grading.pool import run_jobs

    done: dict[int, tuple] = {}
    run_jobs([(len, ("abc",)), (int, ("not a number",)), (_exit_hard, ()), (sorted, ([3, 1],))], 2, 60,
             lambda i, result, error: done.__setitem__(i, (result, error)))
    assert done[0] == (3, "") and done[3] == ([1, 3], "")
    assert done[1][0] is None and done[1][1].startswith("ValueError")
    assert done[2][0] is None and "without a result" in done[2][1]


def test_weak_isolation_runs_the_same_cells_unconfined():
    """--weak-isolation: same interface and limits, no OS sandbox (the instructor accepted it)."""
    from tlcourse.grading.limits import Limits
    from tlcourse.grading.sandbox import run_cells

    run = run_cells(["import json, os\nos.makedirs('out')\nopen('out/a.json', 'w').write(open('in.json').read())",
                     "1 / 0"], inputs={"in.json": b"[1]"},
                    limits=Limits(cell_timeout=20, max_time=60, memory_mb=2048), isolation="weak")
    assert run.isolation == "weak" and run.outputs == {"a.json": b"[1]"}
    assert [(c.status, c.ename) for c in run.cells] == [("ok", ""), ("error", "ZeroDivisionError")]


def test_doctor_says_in_one_line_whether_the_sandbox_works(monkeypatch):
    from tlcourse.doctor import _isolation

    name, ok, detail = _isolation()
    assert name == "grading sandbox" and ok and detail.startswith("bubblewrap") and "\n" not in detail
    monkeypatch.setattr(isolation, "probe", lambda: isolation.Probe(False, "`bwrap` is not installed: fix"))
    name, ok, detail = _isolation()
    assert ok and "not available" in detail and "`bwrap` is not installed" in detail  # learners do not need it


def test_what_a_killed_worker_left_behind_is_found_by_its_dead_pid(tmp_path):
    (tmp_path / "tlcourse-run-999999999-ab").mkdir()  # above any pid_max: dead
    (tmp_path / f"tlcourse-run-{os.getpid()}-cd").mkdir()
    (tmp_path / "tlcourse-run-other").mkdir()
    assert isolation.leftovers(tmp_path, "tlcourse-run-") == [tmp_path / "tlcourse-run-999999999-ab"]


def test_feedback_file_names_are_safe_and_distinct():
    from tlcourse.grading.outputs import file_names, spreadsheet_safe

    assert file_names(["a b", "a_b", "../a?b", "c"]) == {"a_b": "a_b", "../a?b": "a_b-2", "a b": "a_b-3", "c": "c"}
    assert [spreadsheet_safe(s) for s in ["=1+1", "+1", "-1", "@x", "bob"]] == ["'=1+1", "'+1", "'-1", "'@x", "bob"]


def test_a_kernel_cannot_read_or_plant_an_answer_key():
    """data/answer_keys/ (the capstone's reference) reaches only the judge: a grading kernel finds an empty,
    read-only folder there, while the rest of data/ stays readable."""
    import json

    from tlcourse import capstone
    from tlcourse.grading.limits import Limits
    from tlcourse.grading.sandbox import run_cells

    assert capstone.REFERENCE.parent == isolation.ANSWER_KEYS and capstone.REFERENCE.is_file()
    keys, key = str(isolation.ANSWER_KEYS), str(capstone.REFERENCE)
    attack = f"""
import glob, json, os
from tlcourse import capstone
from tlcourse.runtime import DATA_DIR
data = {str(isolation.ANSWER_KEYS.parent)!r}
seen = {{"listed": os.listdir({keys!r}), "found": glob.glob(data + "/**/*reference*", recursive=True),
        "model": (DATA_DIR / "coursenet.pt").is_file()}}
try:
    seen["read"] = len(open({key!r}, "rb").read())
except OSError as err:
    seen["read"] = type(err).__name__
try:
    capstone.load_reference()
    seen["loaded"] = True
except FileNotFoundError:
    seen["loaded"] = False
try:
    open({keys!r} + "/planted.json", "w").write("[]")
    seen["planted"] = True
except OSError:
    seen["planted"] = False
os.makedirs("out")
json.dump(seen, open("out/seen.json", "w"))
"""
    run = run_cells([attack], inputs={}, limits=Limits(cell_timeout=60, max_time=90, memory_mb=4096))
    assert run.isolation == "bwrap" and run.cells[0].status == "ok", run.cells
    seen = json.loads(run.outputs["seen.json"])
    assert seen == {"listed": [], "found": [], "model": True, "read": "FileNotFoundError", "loaded": False,
                    "planted": False}
    assert not (isolation.ANSWER_KEYS / "planted.json").exists()
