"""Lessons 06 and 07 over ten seeds: every adaptation method on both shifts, stored.

A lesson trains one seed live; the spread between seeds is larger than most differences between methods,
so every claim the lessons make about a method is stated from these rows (``data/results/adaptation.json``)
and tested on them (``tests/test_adapt_claims.py``). Regenerate with

    OMP_NUM_THREADS=1 python -m tlcourse.adapt.study --seeds 0 1 2 3 4 5 6 7 8 9

One row per (shift, method, seed): ``target_acc`` (target test split), ``source_acc`` (source validation
split, the only thing model selection reads), ``gap_closed`` (the fraction of that seed's source-only ->
oracle gap the method closes), and a few method-specific measurements (the discriminator's accuracy, the
importance weights' effective sample size, confusion matrices on handwriting).
"""
from __future__ import annotations

import argparse
import copy
import os
from typing import Any

import torch

from .experiment import LARGE_LAMBDA, MAIN_SHIFT, Run, gap_closed, load_shift, run
from .loop import accuracy, features
from .net import adabn

NAME = "adaptation"
#: The two shifts: the main one of lessons 06 and 07 and the harder one of lesson 06, section 9.
SHIFTS: dict[str, dict[str, Any]] = {"photos": dict(MAIN_SHIFT), "handwritten": {"target": "handwritten"}}
#: Methods on each shift. "dann-shared-bn": DANN's recipe with one BatchNorm shared by both domains;
#: "dann-large-lambda": DANN with a constant reversal weight LARGE_LAMBDA (lesson 06, section 7).
METHODS: dict[str, tuple[str, ...]] = {
    "photos": ("source-only", "oracle", "adabn", "dann", "dann-shared-bn", "mmd", "coral", "importance",
               "dann-large-lambda"),
    "handwritten": ("source-only", "oracle", "adabn", "dann"),
}
COMMAND = "OMP_NUM_THREADS=1 python -m tlcourse.adapt.study --seeds 0 1 2 3 4 5 6 7 8 9"


def confusion(model: torch.nn.Module, data: Any, domain: str, num_classes: int = 10) -> list[list[int]]:
    """Confusion matrix (rows: true class, columns: predicted) of ``model`` on ``data`` in ``domain``."""
    model.eval()
    with torch.no_grad(), model.domain(domain):
        pred = torch.cat([model(data.x[i:i + 512]).argmax(1) for i in range(0, len(data.x), 512)])
    m = torch.zeros(num_classes, num_classes, dtype=torch.long)
    m.index_put_((data.y, pred), torch.ones_like(pred), accumulate=True)
    return m.tolist()


def _train(method: str, shift, seed: int, source_only: Run | None) -> Run:
    if method == "dann-shared-bn":
        return run("dann", shift, seed=seed, monitor=False, show_progress=False, norm="batch")
    if method == "dann-large-lambda":
        return run("dann", shift, seed=seed, monitor=False, show_progress=False, trade_off=LARGE_LAMBDA,
                   schedule="constant")
    return run(method, shift, seed=seed, source_model=source_only.model if source_only else None,
               monitor=method == "dann", show_progress=False)


def one_seed(seed: int, methods: dict[str, tuple[str, ...]] | None = None,
             runs_out: dict[tuple[str, str], Run] | None = None) -> list[dict]:
    """The rows of one seed, without ``gap_closed`` (see :func:`with_gap_closed`). ``methods``: a subset of
    METHODS (shift -> methods). The source-only model of the photos shift is reused on handwriting, as in 06.
    ``runs_out``, if given, receives every trained :class:`Run` under (shift, method)."""
    from ..shift import domain_classifier_accuracy

    methods = methods or METHODS
    rows: list[dict] = []
    source_only = None
    for name in methods:
        shift = load_shift(**SHIFTS[name], seed=seed)
        runs: dict[str, Run] = {}
        for method in methods[name]:
            if name == "handwritten" and method in ("source-only", "adabn"):
                if source_only is None:  # the photos shift was not run: train the same source-only model
                    source_only = _train("source-only", load_shift(**SHIFTS["photos"], seed=seed), seed, None)
                model = source_only.model if method == "source-only" else adabn(copy.deepcopy(source_only.model),
                                                                                 shift.target.x)
                domain = "source" if method == "source-only" else "target"
                runs[method] = Run(method, model, None, accuracy(model, shift.source_val),
                                   accuracy(model, shift.target_test, domain), {"domain": domain})
                continue
            if method == "importance" and source_only is None:
                source_only = _train("source-only", shift, seed, None)
            runs[method] = _train(method, shift, seed, source_only)
            if method == "source-only":
                source_only = runs[method]
        if runs_out is not None:
            runs_out.update({(name, m): r for m, r in runs.items()})
        for method, r in runs.items():
            if method not in methods[name]:
                continue
            row = {"shift": name, "method": method, "seed": seed, "target_acc": r.target_acc,
                   "source_acc": r.source_val_acc}
            domain = r.info.get("domain") or (r.history.target_domain if r.history else "source")
            if name == "photos" and method in ("source-only", "dann", "dann-shared-bn"):
                n = 500
                fs = features(r.model, shift.source_val.x[:n], "source")
                ft = features(r.model, shift.target_test.x[:n], domain)
                row["domain_classifier"] = domain_classifier_accuracy(fs, ft, seed=seed)
            if method.startswith("dann") and r.history is not None:
                row["domain_acc_first"] = r.history.discriminator_accuracy("first")
                row["domain_acc_last"] = r.history.discriminator_accuracy("last")
            if name == "photos" and method == "dann":
                row["target_acc_peeking"] = max(r.history.column("target_test_acc"))
            if method == "importance":
                w = torch.sort(r.info["weights"], descending=True).values
                row["ess_fraction"] = r.info["ess"] / len(w)
                row["top10_share"] = float(w[: len(w) // 10].sum() / w.sum())
            if name == "handwritten":
                row["confusion"] = confusion(r.model, shift.target_test, domain)
            rows.append(row)
    return rows


def with_gap_closed(rows: list[dict]) -> list[dict]:
    """``rows`` with ``gap_closed`` filled in from the source-only and oracle rows of the same shift and seed."""
    acc = {(r["shift"], r["seed"], r["method"]): r["target_acc"] for r in rows}
    return [{**r, "gap_closed": gap_closed(acc[r["shift"], r["seed"], "source-only"], r["target_acc"],
                                           acc[r["shift"], r["seed"], "oracle"])} for r in rows]


def main(argv: list[str] | None = None) -> None:
    """``python -m tlcourse.adapt.study --seeds 0 1 ... 9``: every method on both shifts, stored."""
    from .. import stored

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args(argv)
    os.environ.setdefault("TLCOURSE_PROGRESS", "0")
    rows = with_gap_closed([row for seed in args.seeds for row in one_seed(seed)])
    print(stored.save(NAME, rows, command=COMMAND, seeds=args.seeds, threads=torch.get_num_threads(),
                      methods=METHODS))


if __name__ == "__main__":
    main()


def load(rows: list[dict] | None = None, shift: str | None = None, methods: tuple[str, ...] | None = None) -> list[dict]:
    """The stored rows (or ``rows``), of one ``shift`` and some ``methods`` if given."""
    from .. import stored

    rows = stored.rows(NAME) if rows is None else rows
    return [r for r in rows if (shift is None or r["shift"] == shift) and (methods is None or r["method"] in methods)]


def table(shift: str, methods: tuple[str, ...], rows: list[dict] | None = None) -> str:
    """Per method: seeds, target accuracy and gap closed as mean +- std [min, max], in percent."""
    from .. import stored
    from ..i18n import pad, tr

    sel = load(rows, shift, methods)
    acc = {s["method"]: s for s in stored.summarize(sel, "method", "target_acc")}
    gap = {s["method"]: s for s in stored.summarize(sel, "method", "gap_closed")}
    cell = lambda s: f"{s['mean']:6.1%} +- {s['std']:5.1%} [{s['min']:6.1%}, {s['max']:6.1%}]"
    lines = [f"{pad(tr('method'), 18, '<')} {pad(tr('seeds'), 5)}   "
             f"{pad(tr('target accuracy: mean +- std [min, max]'), 38, '<')}   {tr('gap closed')}"]
    lines += [f"{m:<18} {acc[m]['n']:>5}   {cell(acc[m]):<38}   {cell(gap[m])}" for m in methods if m in acc]
    return "\n".join(lines)


def wins(shift: str, better: str, worse: str, rows: list[dict] | None = None, value: str = "target_acc",
         margin: float = 0.0) -> tuple[int, int]:
    """(seeds on which ``better``'s ``value`` exceeds ``worse``'s by more than ``margin``, seeds with both)."""
    sel = load(rows, shift, (better, worse))
    by = {(r["seed"], r["method"]): r[value] for r in sel}
    seeds = sorted({s for s, m in by if (s, better) in by and (s, worse) in by})
    return sum(by[s, better] > by[s, worse] + margin for s in seeds), len(seeds)


def values(shift: str, method: str, value: str = "target_acc", rows: list[dict] | None = None) -> list[float]:
    """``value`` of ``method`` on ``shift``, one per stored seed (in seed order)."""
    return [r[value] for r in sorted(load(rows, shift, (method,)), key=lambda r: r["seed"])]
