"""The claims of lessons 06 and 07, at the strength the lessons state them.

The claims are asserted on the ten stored seeds (``data/results/adaptation.json``, written by
``OMP_NUM_THREADS=1 python -m tlcourse.adapt.study --seeds 0 1 2 3 4 5 6 7 8 9``): fast, no training. The slow
tests re-run seeds 0, 1 and 2 (every method on seed 0, the core methods on seeds 1 and 2) with one thread, as
the study ran, check that they reproduce the stored rows, and check lesson 07's measurements of the shift on the
re-trained source-only models. Target labels are used for nothing but the final scores.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from tlcourse.adapt import study

SEEDS = tuple(range(10))
REPRODUCED = (0, 1, 2)
#: The core methods re-run on seeds 1 and 2 (seed 0 re-runs every method).
CORE = {"photos": ("source-only", "oracle", "adabn", "dann"), "handwritten": ("source-only", "oracle", "adabn", "dann")}
#: How far a re-run may land from its stored row (identical on the machine that stored them; other CPUs sum
#: in another order, and a few hundred SGD steps amplify that).
TOLERANCE = 0.02


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return study.load()


def vals(rows, shift, method, key="target_acc") -> np.ndarray:
    return np.array(study.values(shift, method, key, rows))


# ---- the stored rows themselves ---------------------------------------------------------------------------
def test_every_method_is_stored_for_every_seed(rows):
    for shift, methods in study.METHODS.items():
        for method in methods:
            seeds = sorted(r["seed"] for r in study.load(rows, shift, (method,)))
            assert seeds == list(SEEDS), f"{shift}/{method}: stored seeds {seeds}"


def test_gap_closed_is_computed_against_the_same_seed(rows):
    acc = {(r["shift"], r["method"], r["seed"]): r["target_acc"] for r in rows}
    for r in rows:
        so, orc = acc[r["shift"], "source-only", r["seed"]], acc[r["shift"], "oracle", r["seed"]]
        assert r["gap_closed"] == pytest.approx((r["target_acc"] - so) / (orc - so))


# ---- lesson 06 ------------------------------------------------------------------------------------------------
def test_the_shift_costs_accuracy_and_the_oracle_is_a_ceiling(rows):
    assert (vals(rows, "photos", "source-only", "source_acc") > 0.95).all()
    assert (vals(rows, "photos", "oracle") > vals(rows, "photos", "source-only") + 0.02).all()


def test_dann_closes_a_little_under_half_the_gap_on_average_and_the_seeds_spread_widely(rows):
    gaps = vals(rows, "photos", "dann", "gap_closed")
    assert 0.3 <= gaps.mean() < 0.5
    assert gaps.min() < 0 and gaps.max() > 0.8  # from below zero to over 80%: one seed's fraction says little


def test_dann_beats_source_only_on_all_seeds_but_one(rows):
    above, n = study.wins("photos", "dann", "source-only", rows)
    assert n == len(SEEDS) and above == n - 1


def test_dann_adds_to_what_normalisation_alone_gives_on_average(rows):
    assert vals(rows, "photos", "dann").mean() > vals(rows, "photos", "adabn").mean()
    assert vals(rows, "photos", "adabn").mean() > vals(rows, "photos", "source-only").mean()


def test_per_domain_batchnorm_helps_dann_on_most_seeds_by_less_than_the_spread(rows):
    shared, per_domain = vals(rows, "photos", "dann-shared-bn", "gap_closed"), vals(rows, "photos", "dann", "gap_closed")
    assert shared.mean() < per_domain.mean() and shared.mean() > per_domain.mean() / 2  # "most of what it closes"
    assert study.wins("photos", "dann", "dann-shared-bn", rows)[0] >= 8
    assert per_domain.mean() - shared.mean() < per_domain.std()
    assert vals(rows, "photos", "adabn", "gap_closed").mean() < shared.mean()  # normalisation alone: less than either


def test_discriminator_accuracy_falls_on_photos_and_not_on_handwriting(rows):
    first, last = vals(rows, "photos", "dann", "domain_acc_first"), vals(rows, "photos", "dann", "domain_acc_last")
    assert (first > last).all() and last.mean() < 0.75
    assert vals(rows, "handwritten", "dann", "domain_acc_last").mean() > 0.85


def test_dann_features_hide_the_domain_better_on_average(rows):
    dann, so = vals(rows, "photos", "dann", "domain_classifier"), vals(rows, "photos", "source-only", "domain_classifier")
    assert dann.mean() < so.mean() and (dann < so).mean() >= 0.7


def test_a_large_constant_lambda_hurts_on_average(rows):
    assert vals(rows, "photos", "dann-large-lambda").mean() < vals(rows, "photos", "dann").mean()
    assert vals(rows, "photos", "dann-large-lambda", "source_acc").mean() < vals(rows, "photos", "dann", "source_acc").mean()


def test_source_validation_selection_costs_little_in_a_short_run(rows):
    optimism = vals(rows, "photos", "dann", "target_acc_peeking") - vals(rows, "photos", "dann")
    assert (optimism >= 0).all() and optimism.max() < 0.02


def test_dann_transfers_negatively_on_handwriting_on_average_and_on_most_seeds(rows):
    so, orc, dann = (vals(rows, "handwritten", m) for m in ("source-only", "oracle", "dann"))
    assert (orc > so + 0.1).all() and (orc - dann > 0.15).all()
    assert dann.mean() < so.mean() and (dann < so).sum() > len(so) / 2
    hand, photos = vals(rows, "handwritten", "dann", "gap_closed"), vals(rows, "photos", "dann", "gap_closed")
    assert hand.mean() < photos.mean() - 0.3


def test_handwriting_confusions_are_not_one_digit_mapped_onto_another(rows):
    rate = {}
    for m in ("source-only", "dann"):
        conf = np.sum([r["confusion"] for r in study.load(rows, "handwritten", (m,))], axis=0)
        rate[m] = conf / conf.sum(1, keepdims=True)
    assert rate["dann"][3, 5] < 0.05  # the 3s are not read as 5s
    growth = rate["dann"] - rate["source-only"]
    assert (growth - np.diag(np.diag(growth))).max() < 0.2  # no confusion grows by a fifth of a class


# ---- lesson 07 ------------------------------------------------------------------------------------------------
def test_dann_and_mmd_beat_source_only_on_average_and_most_seeds_coral_barely(rows):
    so = vals(rows, "photos", "source-only").mean()
    for method in ("dann", "mmd"):
        above, n = study.wins("photos", method, "source-only", rows)
        assert vals(rows, "photos", method).mean() > so and above > n / 2, method
    coral = vals(rows, "photos", "coral")
    assert so < coral.mean() < so + 0.02  # barely above source-only on average
    above, n = study.wins("photos", "coral", "source-only", rows)
    assert n / 4 < above < 3 * n / 4  # and below it on about half the seeds
    assert coral.mean() < vals(rows, "photos", "adabn").mean()  # below normalisation alone


def test_mmd_is_close_to_dann_on_average_and_below_it_on_every_seed(rows):
    diff = vals(rows, "photos", "dann").mean() - vals(rows, "photos", "mmd").mean()
    assert 0 < diff < min(vals(rows, "photos", m).std() for m in ("dann", "mmd"))
    assert study.wins("photos", "dann", "mmd", rows) == (len(SEEDS), len(SEEDS))


def test_importance_weighting_is_the_wrong_tool_for_disjoint_domains(rows):
    for better in ("source-only", "dann"):
        below, n = study.wins("photos", better, "importance", rows)
        assert below == n, f"importance weighting beats {better} on {n - below} of {n} seeds"
    assert (vals(rows, "photos", "importance", "ess_fraction") < 0.5).all()
    assert (vals(rows, "photos", "importance", "top10_share") > 0.3).all()
    assert (vals(rows, "photos", "source-only", "domain_classifier") > 0.9).all()  # the domains barely overlap


# ---- slow: the stored rows reproduce, and lesson 07's measurements --------------------------------------------
@pytest.fixture(scope="module")
def rerun() -> dict:
    import torch

    os.environ.setdefault("TLCOURSE_PROGRESS", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the study ran: the same sums in the same order
    try:
        out = {"rows": [], "runs": {}}
        for seed in REPRODUCED:
            runs: dict = {}
            out["rows"] += study.one_seed(seed, study.METHODS if seed == 0 else CORE, runs_out=runs)
            out["runs"][seed] = runs
        return out
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_seeds_0_to_2_reproduce_the_stored_rows(rerun, rows):
    stored = {(r["shift"], r["method"], r["seed"]): r for r in rows}
    for r in rerun["rows"]:
        s = stored[r["shift"], r["method"], r["seed"]]
        for key in ("target_acc", "source_acc"):
            assert abs(r[key] - s[key]) <= TOLERANCE, f"{r['shift']}/{r['method']} seed {r['seed']}: {key} " \
                                                      f"{r[key]:.3f}, stored {s[key]:.3f}"


def _lesson07_measurements(model, shift, seed: int) -> dict:
    """The measurements of lesson 07 sections 1, 2 and 4, as the notebook makes them."""
    from tlcourse import domains
    from tlcourse.adapt import coral_loss, covariate_shift_demo, features, median_bandwidth, mmd2

    n = 500
    f_src, f_src2 = features(model, shift.source.x[:n]), features(model, shift.source_val.x[:n])
    f_tgt = features(model, shift.target.x[:n])
    sigma = median_bandwidth(f_src, f_tgt)
    out = {"mmd/same": mmd2(f_src, f_src2, sigma=sigma).item(), "mmd/shift": mmd2(f_src, f_tgt, sigma=sigma).item(),
           "coral/same": coral_loss(f_src, f_src2).item(), "coral/shift": coral_loss(f_src, f_tgt).item()}
    for s in (0.0, 0.25, 1.0):
        other = features(model, domains.load("digits-on-photos", "val", strength=s).x[:n])
        out[f"mmd/strength{s}"] = mmd2(f_src, other, sigma=sigma).item()
    out.update({f"toy/{k}": v for k, v in covariate_shift_demo(seed)["mse"].items()})
    return out


@pytest.mark.slow
def test_lesson07_measures_the_shift(rerun):
    from tlcourse.adapt.experiment import MAIN_SHIFT, load_shift

    for seed in REPRODUCED:
        m = _lesson07_measurements(rerun["runs"][seed]["photos", "source-only"].model,
                                   load_shift(**MAIN_SHIFT, seed=seed), seed)
        assert abs(m["mmd/same"]) < 0.2 * m["mmd/shift"]
        assert m["mmd/strength1.0"] > m["mmd/strength0.25"] > m["mmd/strength0.0"] - 0.01
        assert m["coral/shift"] > 3 * m["coral/same"]
        assert m["toy/weighted"] < m["toy/unweighted"]
