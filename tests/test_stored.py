"""Stored multi-seed results: written with their command, read back, summarised; bad files are named."""
import math

import pytest

from tlcourse import stored


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(stored, "RESULTS_DIR", tmp_path)
    return tmp_path


def test_save_load_round_trip_keeps_the_command(results_dir):
    rows = [{"method": "a", "seed": s, "acc": 0.5 + 0.1 * s} for s in range(3)]
    target = stored.save("demo", rows, command="python -m demo --seeds 0 1 2", seeds=[0, 1, 2])
    assert target == results_dir / "demo.json"
    report = stored.load("demo")
    assert report["rows"] == rows and report["command"] == "python -m demo --seeds 0 1 2"
    assert report["meta"] == {"seeds": [0, 1, 2]}


def test_summarize_gives_mean_spread_and_a_t_interval():
    rows = [{"m": "a", "acc": v} for v in (0.6, 0.7, 0.8)] + [{"m": "b", "acc": 0.5}]
    a, b = stored.summarize(rows, "m", "acc")
    assert (a["m"], a["n"]) == ("a", 3) and a["mean"] == pytest.approx(0.7)
    assert a["std"] == pytest.approx(0.1) and (a["min"], a["max"]) == (0.6, 0.8)
    assert a["ci95"] == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)  # t(0.975, 2 dof)
    assert b["n"] == 1 and math.isnan(b["ci95"])
    assert "mean" in stored.table([a, b]).splitlines()[0]


def test_missing_corrupt_and_badly_named_results_say_how_to_fix_it(results_dir):
    with pytest.raises(FileNotFoundError, match="make results"):
        stored.load("absent")
    (results_dir / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON.*make results"):
        stored.load("bad")
    with pytest.raises(ValueError, match="letters, digits"):
        stored.path("../etc/passwd")
