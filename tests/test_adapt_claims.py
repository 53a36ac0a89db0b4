"""The claims of lessons 06 and 07, checked over seeds 0, 1 and 2 with the lessons' own settings.

Every model is trained once, in a module-scoped fixture that runs the seeds in parallel worker processes
(one thread each: with batches of 16 images, two processes use two cores far better than two threads), and
returns only numbers. Target labels are used for nothing but the final scores.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SEEDS = (0, 1, 2)


def _one_seed(seed: int) -> dict:
    """Everything lessons 06 and 07 train, for one seed; returns plain numbers."""
    import torch

    torch.set_num_threads(1)
    from tlcourse.adapt import accuracy, features
    from tlcourse.adapt.experiment import LARGE_LAMBDA, MAIN_SHIFT, load_shift, run
    from tlcourse.shift import domain_classifier_accuracy

    shift = load_shift(**MAIN_SHIFT, seed=seed)
    runs = {m: run(m, shift, seed=seed) for m in ("source-only", "oracle", "dann", "mmd", "coral")}
    runs["importance"] = run("importance", shift, seed=seed, source_model=runs["source-only"].model)
    runs["large-lambda"] = run("dann", shift, seed=seed, trade_off=LARGE_LAMBDA, schedule="constant")
    runs["adabn"] = run("adabn", shift, seed=seed, source_model=runs["source-only"].model)
    out = {f"{m}": r.target_acc for m, r in runs.items()}
    out.update({f"{m}/source_val": r.source_val_acc for m, r in runs.items()})
    out["importance/ess_fraction"] = runs["importance"].info["ess"] / len(shift.source)
    w = torch.sort(runs["importance"].info["weights"], descending=True).values
    out["importance/top10_share"] = float(w[: len(w) // 10].sum() / w.sum())

    dann = runs["dann"].history
    steps = [s["domain_acc"] for s in dann.steps]
    tenth = len(steps) // 10
    out["dann/domain_acc_early"] = float(np.mean(steps[:tenth]))
    out["dann/domain_acc_late"] = float(np.mean(steps[-tenth:]))
    out["dann/peeking"] = max(dann.column("target_test_acc"))
    out["dann/honest"] = dann.best["target_test_acc"]

    n = 500
    src_x, tgt_x = shift.source_val.x[:n], shift.target_test.x[:n]
    for m in ("source-only", "dann"):
        r = runs[m]
        fs, ft = features(r.model, src_x, "source"), features(r.model, tgt_x, r.history.target_domain)
        out[f"{m}/domain_classifier"] = domain_classifier_accuracy(fs, ft, seed=seed)

    hand = load_shift("handwritten", seed=seed)
    out["hand/source-only"] = accuracy(runs["source-only"].model, hand.target_test, "source")
    out["hand/dann"] = run("dann", hand, seed=seed).target_acc
    out["hand/oracle"] = run("oracle", hand, seed=seed).target_acc
    return out


@pytest.fixture(scope="module")
def results() -> dict[int, dict]:
    os.environ.setdefault("TLCOURSE_PROGRESS", "0")
    with ProcessPoolExecutor(max_workers=min(len(SEEDS), os.cpu_count() or 1)) as pool:
        return dict(zip(SEEDS, pool.map(_one_seed, SEEDS)))


def _mean(results, key):
    return float(np.mean([r[key] for r in results.values()]))


def _closed(results, method, prefix=""):
    so, ad, orc = (_mean(results, prefix + k) for k in ("source-only", method, "oracle"))
    return (ad - so) / (orc - so)


def test_report(results):
    """Not a claim: prints the per-seed table into the test log (pytest -s shows it)."""
    keys = ["source-only", "adabn", "dann", "mmd", "coral", "importance", "oracle", "large-lambda",
            "hand/source-only", "hand/dann", "hand/oracle"]
    for seed, r in results.items():
        print(f"seed {seed}: " + ", ".join(f"{k} {r[k]:.3f}" for k in keys))


# ---- lesson 06 ------------------------------------------------------------------------------
def test_the_shift_costs_accuracy_and_the_oracle_is_a_ceiling(results):
    for r in results.values():
        assert r["source-only/source_val"] > 0.95
        assert r["oracle"] > r["source-only"] + 0.02


def test_dann_closes_at_least_half_the_gap_on_the_main_shift(results):
    assert _closed(results, "dann") >= 0.5


def test_dann_never_ends_below_source_only(results):
    for seed, r in results.items():
        assert r["dann"] >= r["source-only"], f"seed {seed}: DANN {r['dann']:.3f} < source-only {r['source-only']:.3f}"


def test_dann_adds_to_what_normalisation_alone_gives(results):
    for seed, r in results.items():
        assert r["dann"] > r["adabn"], f"seed {seed}: DANN {r['dann']:.3f} <= AdaBN {r['adabn']:.3f}"


def test_dann_features_hide_the_domain_better(results):
    for r in results.values():
        assert r["dann/domain_classifier"] < r["source-only/domain_classifier"]


def test_a_large_constant_lambda_hurts(results):
    for r in results.values():
        assert r["large-lambda"] < r["dann"]
        assert r["large-lambda/source_val"] < r["dann/source_val"]


def test_selecting_on_the_target_test_set_is_optimistic(results):
    for r in results.values():
        assert r["dann/peeking"] >= r["dann/honest"]


def test_dann_closes_less_of_the_gap_on_handwriting(results):
    for r in results.values():
        assert r["hand/oracle"] > r["hand/source-only"] + 0.1
    assert _closed(results, "dann", "hand/") < _closed(results, "dann")


# ---- lesson 07 ------------------------------------------------------------------------------
def test_importance_weighting_is_the_wrong_tool_for_disjoint_domains(results):
    for r in results.values():
        assert r["importance"] < min(r["dann"], r["mmd"], r["coral"])
        assert r["importance"] < r["source-only"]
        assert r["importance/ess_fraction"] < 0.5 and r["importance/top10_share"] > 0.3
        assert r["source-only/domain_classifier"] > 0.9  # the domains barely overlap
