"""The benchmark's pieces with tiny sizes (the numbers themselves come from ``make bench``)."""
import copy
import json

import pytest
import torch

from benchmarks import bench
from tlcourse.models import CourseNet
from tlcourse.train import fit
from toydata import toy


def test_bare_loop_does_exactly_the_work_of_fit():
    """Same batches, same updates: the overhead compares like with like."""
    x, y = toy(96)
    torch.manual_seed(0)
    a = CourseNet(4)
    b = copy.deepcopy(a)
    fit(a, (x, y), epochs=2, lr=1e-3, batch_size=32, seed=3, device="cpu", show_progress=False)
    bench.bare_loop(b, x, y, epochs=2, lr=1e-3, batch_size=32, seed=3, device="cpu")
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6), name
    bench.bare_loop(b, x, y, epochs=1, lr=1e-3, batch_size=32, seed=3, device="cpu")
    assert not torch.allclose(a.fc3.weight, b.fc3.weight)  # the comparison can tell them apart


def test_bench_loop_interleaves_and_reports_medians():
    result = bench.bench_loop(repeats=2, epochs=1, batch_size=32, data=toy(64))
    assert result["steps"] == 2 and len(result["fit_runs"]) == len(result["bare_runs"]) == 2
    assert result["fit_s"] > 0 and result["bare_cpu_s"] > 0 and -1 < result["overhead"] < 10
    assert -1 < result["wall_overhead"] < 10


def test_bench_freezelab_on_a_toy_network():
    torch.manual_seed(0)
    data = {"train": toy(80), "val": toy(20, seed=1)}
    result = bench.bench_freezelab(clicks=2, repeats=1, n_per_class=10, epochs=2, speedup_epochs=1,
                                   model=CourseNet(4), target="toy", data=data)
    assert result["retrain_click_s"] > 0 and result["cached_fit_s"] > 0 and result["speedup"] > 0
    assert result["same_val_acc"]


def test_bench_data_generates_into_an_empty_cache_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE", str(tmp_path / "user-cache"))
    result = bench.bench_data(repeats=1, reloads=2, splits=(("digits-printed", "val"),), fresh_process=False)
    assert result["images"] == 2000 and result["images_per_s"] > 0 and result["reload_s"] > 0
    assert not (tmp_path / "user-cache").exists()  # the learner's cache was not touched


FAKE = {
    "notebooks": {"notebooks": [{"name": "00_a.ipynb", "seconds": 30.0, "status": "ok"},
                                {"name": "04_b.ipynb", "seconds": 130.0, "status": "ok"}], "total_s": 160.0},
    "freezelab": {"retrain_click_s": 1.2, "speedup": 12.0, "cached_fit_s": 0.5, "uncached_fit_s": 6.0,
                  "same_val_acc": True, "clicks": 5, "repeats": 3, "n_per_class": 10, "epochs": 15,
                  "speedup_epochs": 5, "first_click_s": 4.0},
    "loop": {"overhead": 0.08, "wall_overhead": 0.07, "fit_s": 1.08, "bare_s": 1.0, "fit_cpu_s": 2.1,
             "bare_cpu_s": 2.0, "steps": 100, "repeats": 5, "images": 800, "batch_size": 64, "device": "cpu"},
    "backbone": {"lesson_finetune_s": 75.0, "tutorial_estimate_s": 1200.0, "tutorial_over_lesson": 16.0,
                 "freezelab_click_s": 0.2},
    "bench_s": 500.0,
}


def test_bars_compare_each_measurement_with_its_limit():
    found = {b["bar"]: b for b in bench.bars(FAKE)}
    assert found["each notebook at its defaults"]["pass"] is False  # 130 s > 120 s
    assert "04_b.ipynb" in found["each notebook at its defaults"]["measured"]
    assert found["whole course"]["pass"] is True
    assert found["FreezeLab retrain with a frozen backbone"]["pass"] is True
    assert found["FreezeLab cached vs training through the frozen layers"]["pass"] is True
    assert found["train loop overhead over a bare PyTorch loop"]["pass"] is False  # 8% > 5%
    assert found["make bench itself"]["pass"] is True
    assert found["a real ImageNet backbone fine-tuned inside a lesson"]["pass"] is False  # 75 s > 60 s
    assert found["FreezeLab retrain on the real backbone with frozen blocks"]["pass"] is True
    claims = [b for b in found.values() if "3 seeds" in b["bar"]]
    assert len(claims) == 3 and all(b["pass"] is None and b["measured"] == "not measured" for b in claims)


def test_markdown_report_lists_every_bar():
    results = {**FAKE, "meta": {"date": "today", "quick": False, "machine": "m", "load_start": "1.0",
                                "command": "python tests/benchmarks/bench.py"},
               "section_s": {"loop": 1.0}, "errors": {"grading": "RuntimeError: boom"}}
    results["bars"] = bench.bars(results)
    text = bench.render_markdown(results)
    for b in results["bars"]:
        assert b["bar"] in text
    assert "**FAIL**" in text and "RuntimeError: boom" in text and "04_b.ipynb | 130.0" in text


def test_run_writes_markdown_and_json(tmp_path):
    results = bench.run(["loop"], tmp_path, quick=True, log=lambda msg: None)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["loop"]["steps"] == results["loop"]["steps"] and not saved["errors"]
    assert "train loop overhead" in (tmp_path / "report.md").read_text()
    assert not any(b["bar"] == "make bench itself" for b in saved["bars"])  # a partial run


def test_unknown_section_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--only", "nonsense"])
    assert "invalid choice" in capsys.readouterr().err


def test_bare_dann_loop_does_exactly_the_work_of_adapt():
    from tlcourse.adapt import AdaptNet, adapt, make_aligner

    (xs, ys), xt = toy(48), toy(40, seed=1)[0]
    torch.manual_seed(0)
    model = AdaptNet(4)
    aligner = make_aligner("dann", model.feature_dim)
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    settings = dict(epochs=2, lr=0.01, batch_size=16, seed=3, trade_off=0.3)
    adapt(a, (xs, ys), xt, method="dann", aligner=copy.deepcopy(aligner), select="last", device="cpu",
          show_progress=False, **settings)
    bench.bare_dann_loop(b, copy.deepcopy(aligner), xs, ys, xt, device="cpu", **settings)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6), name
