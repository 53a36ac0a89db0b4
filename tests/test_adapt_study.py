"""tlcourse.adapt.study: the ten-seed study's bookkeeping (gap closed, counts, tables, confusion matrices)."""
import pytest
import torch

from tlcourse.adapt import AdaptNet, study
from tlcourse.adapt.net import DomainBatchNorm


def _rows():
    accs = {0: {"source-only": 0.8, "dann": 0.9, "oracle": 1.0}, 1: {"source-only": 0.7, "dann": 0.65, "oracle": 0.9}}
    return [{"shift": "photos", "method": m, "seed": s, "target_acc": a, "source_acc": 0.99}
            for s, by in accs.items() for m, a in by.items()]


def test_gap_closed_is_against_the_same_seed():
    rows = study.with_gap_closed(_rows())
    gap = {(r["seed"], r["method"]): r["gap_closed"] for r in rows}
    assert gap[0, "dann"] == pytest.approx(0.5) and gap[1, "dann"] == pytest.approx(-0.25)
    assert gap[0, "source-only"] == 0 and gap[1, "oracle"] == pytest.approx(1)


def test_wins_values_and_table_read_the_rows_given():
    rows = study.with_gap_closed(_rows())
    assert study.wins("photos", "dann", "source-only", rows) == (1, 2)
    assert study.wins("photos", "oracle", "dann", rows, margin=0.2) == (1, 2)
    assert study.values("photos", "dann", "gap_closed", rows) == pytest.approx([0.5, -0.25])
    text = study.table("photos", ("source-only", "dann", "missing"), rows)
    assert "dann" in text and "missing" not in text and "77.5%" in text  # mean of 0.9 and 0.65


def test_confusion_counts_every_test_image_once():
    class Data:
        x = torch.rand(30, 1, 28, 28)
        y = torch.arange(30) % 10

    torch.manual_seed(0)
    m = torch.tensor(study.confusion(AdaptNet(10), Data, "source"))
    assert m.shape == (10, 10) and m.sum() == 30 and (m.sum(1) == 3).all()


def test_every_stored_method_is_one_the_study_knows():
    assert set(study.METHODS) == set(study.SHIFTS)
    assert {"source-only", "oracle", "dann"} <= set(study.METHODS["handwritten"])


def test_run_builds_a_shared_batchnorm_network_when_asked(monkeypatch):
    from tlcourse.adapt import experiment

    built = {}

    def fake_adapt(model, *args, **kwargs):
        built["model"] = model
        raise RuntimeError("stop")

    monkeypatch.setattr(experiment, "adapt", fake_adapt)
    shift = experiment.Shift("toy", *(None,) * 5)
    shift.source = type("D", (), {"classes": list("0123456789")})()
    shift.target = type("D", (), {"x": None})()
    with pytest.raises(RuntimeError, match="stop"):
        experiment.run("dann", shift, norm="batch", show_progress=False, monitor=False)
    model = built["model"]
    assert model.norm == "batch" and not any(isinstance(m, DomainBatchNorm) for m in model.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
