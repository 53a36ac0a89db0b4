"""Public tests and grading observations of lesson 09 (the capstone)."""
from __future__ import annotations

import copy
import random

import numpy as np
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import Message, tr

BODY = ("conv1", "conv2", "conv3", "fc1", "fc2")


# --- 9.1 a 95% interval over seeds ---------------------------------------------------------------

@exercise("lesson09.interval", hint="mean = np.mean(accs); s = np.std(accs, ddof=1); half-width = "
          "t * s / sqrt(n) with t = scipy.stats.t.ppf(0.975, n - 1) (4.30 for 3 seeds, not 1.96).")
def _(interval) -> None:
    got = interval([0.80, 0.82, 0.84])
    assert isinstance(got, tuple) and len(got) == 3, tr("return a tuple (mean, low, high), got {got!r}", got=got)
    mean, low, high = (float(v) for v in got)
    assert abs(mean - 0.82) < 1e-9, tr("the mean of [0.80, 0.82, 0.84] is 0.82, got {mean}", mean=mean)
    half = high - mean
    assert abs((mean - low) - half) < 1e-9, tr("the interval should be symmetric about the mean")
    if abs(half - 1.96 * 0.02 / 3 ** 0.5) < 1e-4:
        raise AssertionError(tr("with 3 seeds use Student's t with 2 degrees of freedom, not the normal 1.96"))
    if abs(half - 4.303 * np.std([0.80, 0.82, 0.84]) / 3 ** 0.5) < 1e-3:
        raise AssertionError(tr("use the sample standard deviation (ddof=1), not the population one"))
    assert abs(half - 0.04968) < 1e-4, tr("the 95% half-width for these 3 values is 0.0497, got {half:.4f}", half=half)


@observe("lesson09.interval", atol=1e-6)
def _(seed, interval):
    rng = np.random.default_rng(seed)
    samples = [rng.uniform(0.5, 1.0, int(n)).round(4).tolist() for n in rng.integers(2, 9, 4)]
    return {f"{len(s)} values #{i}": [float(v) for v in interval(s)] for i, s in enumerate(samples)}


# --- 9.2 recommend(task): a procedure, graded on tasks drawn at grading time --------------------

@exercise("lesson09.recommend", hint="For each strategy of fc.STRATEGIES measure its validation accuracy "
          "(capstone.validation_accuracy(task, s), or train it with capstone.train_strategy and evaluate on "
          "task.val), then return (the best one's name, the dict strategy -> accuracy).")
def _(recommend, task) -> None:
    from tlcourse import capstone
    from tlcourse.four_cases import STRATEGIES

    answer = recommend(task)
    assert isinstance(answer, tuple) and len(answer) == 2, (
        tr("recommend must return a pair (choice, val_acc), got {type}: a bare name has no evidence",
           type=type(answer).__name__))
    choice, val_acc = answer
    assert choice in STRATEGIES, tr("the choice must be one of {strategies}, got {choice!r}",
                                    strategies=STRATEGIES, choice=choice)
    assert isinstance(val_acc, dict) and sorted(val_acc) == sorted(STRATEGIES), (
        tr("val_acc must be a dict with one validation accuracy per strategy: keys {strategies}",
           strategies=STRATEGIES))
    assert all(0 <= float(v) <= 1 for v in val_acc.values()), tr("accuracies are fractions between 0 and 1")
    assert float(val_acc[choice]) == max(float(v) for v in val_acc.values()), (
        tr("return the strategy with the best validation accuracy you measured"))
    assert not hasattr(task, "test"), tr("the task has no test split, and recommend must not load one")
    for s in STRATEGIES:  # the library's measurement at the defaults (remembered, so free after section 3)
        expected = capstone.validation_accuracy(task, s)
        assert abs(float(val_acc[s]) - expected) <= 0.06, (
            tr("your validation accuracy for {strategy!r} ({got:.3f}) is far from what training it at "
               "capstone's default budget gives ({expected:.3f}): measure it, on task.val",
               strategy=s, got=float(val_acc[s]), expected=expected))
    print(tr("recommend chose {choice!r} for {variant} (seed {seed}) with evidence ", choice=choice,
             variant=task.variant, seed=task.seed)
          + ", ".join(f"{s[0]} {float(v):.3f}" for s, v in val_acc.items()))


def _recommend_rule(mine: dict, ref: dict) -> Message | None:
    from tlcourse import capstone

    drawn = [t["task"] for t in ref["tasks"]]
    got = mine.get("tasks") if isinstance(mine.get("tasks"), list) else []
    if [t.get("task") if isinstance(t, dict) else None for t in got] != drawn:
        return Message("recommend was not run on the tasks the grader drew")
    for i, ((variant, task_seed), answer) in enumerate(zip(drawn, got), 1):
        why = capstone.judge_recommendation(variant, task_seed, answer.get("choice"), answer.get("val_acc"))
        if why:
            return Message("on the grader's task {i} of {n} ({variant}): {why}", i=i, n=len(drawn), variant=variant,
                           why=why)
    return None


@observe("lesson09.recommend", rule=_recommend_rule)
def _(seed, recommend, task):
    from tlcourse import capstone
    from tlcourse.four_cases import STRATEGIES

    answers = []
    for variant, task_seed in capstone.grading_tasks(seed):
        answer = recommend(capstone.make_task(variant, task_seed))
        choice, val_acc = answer if isinstance(answer, tuple) and len(answer) == 2 else (answer, None)
        try:
            measured = [float(val_acc[s]) for s in STRATEGIES]
        except Exception:  # noqa: BLE001 - no evidence, or not one number per strategy: the judge says so
            measured = None
        answers.append({"task": [variant, task_seed], "choice": str(choice), "val_acc": measured})
    return {"tasks": answers}


# --- 9.3 debug this: a 10-way model carried to a task with more classes --------------------------

def _debug_case(seed: int):
    """A 10-way digit model (random weights) and a small target with more classes, from ``seed``."""
    from tlcourse.domains import DomainData
    from tlcourse.models import CourseNet

    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = CourseNet(10)
    model.classes = [str(d) for d in range(10)]
    k = rng.randint(11, 30)
    classes = [f"class {i}" for i in range(k)]
    g = torch.Generator().manual_seed(seed)
    target = DomainData(torch.rand(4 * k, 1, 28, 28, generator=g), torch.arange(k).repeat(4), classes,
                        "debug-target", "train")
    return model, target


def _debug_facts(transfer_and_finetune, seed: int) -> dict:
    model, target = _debug_case(seed)
    before = copy.deepcopy(model.state_dict())
    out = transfer_and_finetune(model, target, epochs=1)
    transferred, finetuned = out
    x = target.x[:2]
    same = lambda a, b, layer: torch.equal(getattr(a, layer).weight, getattr(b, layer).weight)  # noqa: E731
    return {
        "two models": transferred is not finetuned and transferred is not model,
        "transferred outputs": int(transferred(x).shape[1]), "finetuned outputs": int(finetuned(x).shape[1]),
        "transferred classes": list(getattr(transferred, "classes", [])) == target.classes,
        "finetuned classes": list(getattr(finetuned, "classes", [])) == target.classes,
        "source untouched": all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
        and model.classes == [str(d) for d in range(10)],
        "transferred body kept": [n for n in BODY if same(transferred, model, n)],
        "finetuned body trained": [n for n in BODY if not same(finetuned, model, n)],
    }


@exercise("lesson09.debug", hint="Three fixes: surgery.replace_head before any training on the target; "
          "set .classes to the target's; the transfer step freezes the body (surgery.freeze, then unfreeze "
          "'fc3'), the fine-tune step starts from a copy of it with everything unfrozen.")
def _(transfer_and_finetune) -> None:
    facts = _debug_facts(transfer_and_finetune, 0)
    k = len(_debug_case(0)[1].classes)
    assert facts["two models"], tr("return two different models (transferred, fine-tuned), not the input model")
    assert facts["transferred outputs"] == k and facts["finetuned outputs"] == k, (
        tr("the target has {k} classes, but the models output {transferred} and {finetuned} scores: "
           "replace the 10-way head", k=k, transferred=facts["transferred outputs"],
           finetuned=facts["finetuned outputs"]))
    assert facts["transferred classes"] and facts["finetuned classes"], (
        tr("the models still carry the old class names: set .classes to the target's"))
    assert facts["source untouched"], tr("the pretrained model passed in was changed: work on copies")
    assert facts["transferred body kept"] == list(BODY), (
        tr("the transfer step changed {layers}: it should train only the new head",
           layers=sorted(set(BODY) - set(facts["transferred body kept"]))))
    assert facts["finetuned body trained"] == list(BODY), (
        tr("fine-tuning left {layers} unchanged: it should train every layer",
           layers=sorted(set(BODY) - set(facts["finetuned body trained"]))))


@observe("lesson09.debug")
def _(seed, transfer_and_finetune):
    return _debug_facts(transfer_and_finetune, seed)
