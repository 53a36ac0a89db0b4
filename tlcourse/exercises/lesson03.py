"""Public tests and observations of lesson 03 (the four fine-tuning cases)."""
import random

import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import tr
from tlcourse.models import CourseNet

_STRATEGIES = ("a: new head", "b: early + head", "c: fine-tune all", "d: scratch")


@exercise("lesson03.new_head", hint="surgery.replace_head copies the network with a new last layer; "
          "then freeze everything and unfreeze 'fc3'.")
def _(new_head_model):
    torch.manual_seed(0)
    source = CourseNet(12)
    net = new_head_model(source, 4)
    assert net is not source, tr("return a copy: the pretrained network must stay as it was")
    assert source.fc3.out_features == 12, tr("the pretrained network's own head was changed")
    assert net.fc3.out_features == 4, tr("the new head should have 4 outputs, it has {n}", n=net.fc3.out_features)
    assert torch.equal(net.conv1.weight, source.conv1.weight), tr("the body's weights should be the pretrained ones")
    trainable = sorted({n.split(".")[0] for n, p in net.named_parameters() if p.requires_grad})
    assert trainable == ["fc3"], tr("only fc3 should train, but these layers train: {trainable}", trainable=trainable)


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.
@observe("lesson03.new_head")
def _(seed, new_head_model):
    rng = random.Random(seed)
    source_classes, target_classes = rng.randint(10, 60), rng.randint(2, 9)
    torch.manual_seed(seed)
    source = CourseNet(source_classes)
    net = new_head_model(source, target_classes)
    body = [n for n in ("conv1", "conv2", "conv3", "fc1", "fc2")
            if torch.equal(getattr(net, n).weight, getattr(source, n).weight)]
    return {"a copy": net is not source, "source head": source.fc3.out_features, "new head": net.fc3.out_features,
            "pretrained body": body, "trainable": [n for n, p in net.named_parameters() if p.requires_grad],
            "source trainable": [n for n, p in source.named_parameters() if p.requires_grad]}


# ---------------------------------------------------------------- 3.2: find the bug in a learning-rate picker
def _sweep_rows(rng: random.Random, targets=("t",), sizes=(5,), seeds=3, rates=(3e-4, 1e-3, 3e-3, 1e-2)):
    """Random sweep rows whose validation and test accuracies disagree, as small samples do."""
    return [{"strategy": s, "target": t, "n_per_class": n, "seed": k, "lr": lr,
             "val_acc": round(rng.random(), 3), "test_acc": round(rng.random(), 3)}
            for t in targets for n in sizes for s in _STRATEGIES for lr in rates for k in range(seeds)]


def _pick_rate_rows():
    """Rows on which each bug of the lesson's `pick_rate` gives a different answer from the right one."""
    table = {  # lr -> (val accuracies over 3 seeds, test accuracies)
        1e-3: ((0.60, 0.62, 0.61), (0.90, 0.50, 0.50)),   # the best single test run, and a poor mean
        3e-3: ((0.95, 0.40, 0.42), (0.60, 0.60, 0.60)),   # the best single validation run, a poor mean
        1e-2: ((0.70, 0.71, 0.69), (0.55, 0.56, 0.54)),   # the best mean validation accuracy
    }
    rows = [{"strategy": "c: fine-tune all", "target": "t", "n_per_class": 5, "seed": k, "lr": lr,
             "val_acc": val[k], "test_acc": test[k]} for lr, (val, test) in table.items() for k in range(3)]
    rows += [{"strategy": s, "target": t, "n_per_class": n, "seed": 0, "lr": 3e-4, "val_acc": 0.99,
              "test_acc": 0.99} for s, t, n in (("c: fine-tune all", "other", 5), ("c: fine-tune all", "t", 50),
                                                ("a: new head", "t", 5))]
    return rows


@exercise("lesson03.pick_rate", hint="Keep only the runs of this strategy, target and size; group them by "
          "learning rate; average the *validation* accuracy over seeds; return the rate with the best mean "
          "(the smaller rate on a tie). The test split must play no part in a choice.")
def _(pick_rate):
    rows = _pick_rate_rows()
    got = pick_rate(rows, "t", 5, "c: fine-tune all")
    assert isinstance(got, float), tr("return the learning rate as a float, got {type}", type=type(got).__name__)
    assert got != 1e-3, tr("1e-3 has the best single *test* run: a choice made on the test split is a leak")
    assert got != 3e-3, tr("3e-3 has the best single validation run, but one lucky seed is not evidence: average")
    assert got != 3e-4, tr("3e-4 appears only in rows of another target, size or strategy")
    assert got == 1e-2, tr("1e-2 has the best mean validation accuracy over the seeds, got {got}", got=got)
    tie = [dict(r, val_acc=0.5) for r in rows if r["target"] == "t" and r["n_per_class"] == 5
           and r["strategy"] == "c: fine-tune all"]
    assert pick_rate(tie, "t", 5, "c: fine-tune all") == 1e-3, tr("on a tie return the smaller rate")


@observe("lesson03.pick_rate")
def _(seed, pick_rate):
    rng = random.Random(seed)
    rows = _sweep_rows(rng, targets=("letters", "photos"), sizes=(5, 100), seeds=rng.randint(2, 4))
    return {f"{t} {n} {s}": pick_rate(rows, t, n, s)
            for t in ("letters", "photos") for n in (5, 100) for s in _STRATEGIES}


# ---------------------------------------------------------------- 3.3: choose with evidence (or say "tie")
def _choose_rows():
    rows = []
    for k, (a, b, c, d) in enumerate([(0.70, 0.50, 0.60, 0.30), (0.72, 0.52, 0.58, 0.31), (0.71, 0.49, 0.61, 0.29)]):
        for s, acc in zip(_STRATEGIES, (a, b, c, d)):
            rows.append({"strategy": s, "target": "clear", "n_per_class": 5, "seed": k, "test_acc": acc})
    for k, (a, b, c, d) in enumerate([(0.60, 0.55, 0.62, 0.20), (0.64, 0.50, 0.58, 0.22), (0.58, 0.52, 0.61, 0.21)]):
        for s, acc in zip(_STRATEGIES, (a, b, c, d)):
            rows.append({"strategy": s, "target": "close", "n_per_class": 5, "seed": k, "test_acc": acc})
    rows += [{"strategy": "d: scratch", "target": t, "n_per_class": n, "seed": 0, "test_acc": 0.99}
             for t, n in (("other", 5), ("clear", 50))]
    return rows


@exercise("lesson03.choose_evidence", hint="For each strategy of this target and size, stored.interval(accuracies over "
          "seeds) gives (mean, half-width). Take the two best means: answer the best strategy only if "
          "mean - half-width of the best is above mean + half-width of the runner-up, else 'tie'.")
def _(choose):
    rows = _choose_rows()
    got = choose(rows, "clear", 5)
    assert isinstance(got, str), tr("return a strategy name or 'tie', got {type}", type=type(got).__name__)
    assert got == "a: new head", tr("on 'clear', (a) is ahead of (c) by about 10 points on every seed and the "
                                    "intervals do not touch: choose it (got {got!r})", got=got)
    got = choose(rows, "close", 5)
    assert got == "tie", tr("on 'close', (a) and (c) trade places from seed to seed and their intervals overlap: "
                            "the evidence does not separate them, answer 'tie' (got {got!r})", got=got)
    one = [r for r in rows if r["target"] == "clear" and r["seed"] == 0]
    assert choose(one, "clear", 5) == "tie", tr(
        "one seed gives no interval at all: that is a 'tie', not a winner")


@observe("lesson03.choose_evidence")
def _(seed, choose):
    rng = random.Random(seed)
    rows, cases = [], []
    for i in range(8):  # some cases with a clear winner, some within the noise
        target, spread = f"target{i}", rng.choice((0.01, 0.03, 0.08))
        means = {s: rng.uniform(0.2, 0.9) for s in _STRATEGIES}
        for k in range(rng.randint(2, 5)):
            rows += [{"strategy": s, "target": target, "n_per_class": 5, "seed": k,
                      "test_acc": min(1.0, max(0.0, m + rng.gauss(0, spread)))} for s, m in means.items()]
        cases.append(target)
    return {t: choose(rows, t, 5) for t in cases}
