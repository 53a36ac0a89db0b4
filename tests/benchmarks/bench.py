"""Measure the course against the performance bars of its design (``make bench``).

    python tests/benchmarks/bench.py --out bench            # every section, under 10 minutes on 2 cores
    python tests/benchmarks/bench.py --out bench --quick    # a smoke run with tiny sizes (about 2 minutes)
    python tests/benchmarks/bench.py --only loop freezelab  # some sections
    python tests/benchmarks/bench.py --claims               # also the 3-seed claims (several minutes more)

It lives with the tests, not in the package: a learner never imports it. Sections, each a function
that returns plain numbers, listed in ``SECTIONS`` (add one there: its full and its quick call):

- ``notebooks``: every lesson's wall time at its committed defaults (papermill, as ``make course``);
- ``freezelab``: a FreezeLab retrain click with a frozen backbone, and the same training with the
  frozen prefix's features cached vs running the frozen layers every step;
- ``loop``: ``train.fit`` against a bare PyTorch loop on the same model, data and steps;
- ``adapt``: ``adapt.adapt`` (DANN) against a bare PyTorch DANN loop on the same data and steps;
- ``data``: images per second of the ``glyphs`` generator into an empty cache, and reloading
  50,000 cached images;
- ``backbone``: lesson 08's ImageNet EfficientNet-Lite0: its longest fine-tune, the PyTorch tutorial's CPU
  fine-tune recipe (ResNet-18, 224 px) timed from a few steps in the same run, and a FreezeLab click;
- ``grading``: ``tlcourse grade`` on 20 copies of a complete lesson-00 submission;
- ``claims`` (with ``--claims``): the results the lessons rely on, over 3 seeds.

Timings are medians over repeats; a ratio compares runs made in the same process, interleaved
(A B B A ...) so that load from other programs falls on both sides. The report, ``report.md`` and
``report.json`` in ``--out``, lists every bar with its measured value and whether it passed.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

#: The course design's bars (COURSE.md, "Performance bars").
NOTEBOOK_LIMIT_S, COURSE_LIMIT_S = 120.0, 720.0
RETRAIN_LIMIT_S, CACHE_SPEEDUP_MIN = 3.0, 10.0
LOOP_OVERHEAD_MAX = 0.05
BENCH_LIMIT_S = 600.0
#: 50,000 images: the three glyphs splits (36,000 + 6,000 + 6,000) and the printed digits' val split.
DATA_SPLITS = (("glyphs", "train"), ("glyphs", "val"), ("glyphs", "test"), ("digits-printed", "val"))


def median(values: list[float]) -> float:
    return float(statistics.median(values))


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------- sections
def bench_notebooks(out: Path, only: list[str] | None = None) -> dict:
    """Each lesson's wall time at its defaults (papermill, one kernel each, run one after another)."""
    from tlcourse import course

    paths = course.lesson_paths(only)
    rows = course.run(paths, out / "notebooks", {})
    return {"notebooks": [{"name": n, "seconds": round(s, 1), "status": st} for n, s, st in rows],
            "total_s": round(sum(s for _, s, _ in rows), 1)}


def bench_freezelab(clicks: int = 5, repeats: int = 3, n_per_class: int = 10, epochs: int = 15,
                    speedup_epochs: int = 5, model=None, target: str = "letters", data: dict | None = None) -> dict:
    """FreezeLab with everything but the head frozen, at the widget's defaults.

    - the first click (loads the data and fills the feature cache; ``speedup_epochs`` epochs);
    - the retrain click's latency: median of ``clicks`` later clicks (``epochs`` epochs, live plot
      and run table included);
    - cached vs uncached training (``freezelab.benchmark_retrain``), ``repeats`` times with
      ``speedup_epochs`` epochs (both sides scale with the epochs; fewer keep the slow side short):
      ``speedup`` is the median of each repeat's own ratio."""
    from tlcourse.widgets.freezelab import FreezeLab, benchmark_retrain

    lab = FreezeLab(model, target, data=data, n_per_class=n_per_class, epochs=epochs)
    runs = [benchmark_retrain(lab, n_per_class=n_per_class, epochs=speedup_epochs) for _ in range(repeats)]
    lab.epochs.value = epochs
    click_times = []
    for _ in range(clicks):
        start = time.perf_counter()
        lab.button.click()
        click_times.append(time.perf_counter() - start)
        if lab.last_error is not None:
            raise RuntimeError(f"the retrain failed: {lab.message.value}")
    return {"n_per_class": n_per_class, "epochs": epochs, "clicks": clicks, "repeats": repeats,
            "speedup_epochs": speedup_epochs, "first_click_s": runs[0]["first_click_s"],
            "retrain_click_s": median(click_times),
            "cached_fit_s": median([r["cached_fit_s"] for r in runs]),
            "uncached_fit_s": median([r["uncached_fit_s"] for r in runs]),
            "speedup": median([r["speedup"] for r in runs]),
            "same_val_acc": all(abs(r["cached_val_acc"] - r["uncached_val_acc"]) < 1e-6 for r in runs)}


def bare_loop(model, x, y, *, epochs: int, lr: float, batch_size: int, seed: int, device) -> None:
    """The PyTorch loop ``fit`` is compared with: shuffle, forward, loss, backward, step."""
    import torch
    from torch.nn import functional as F

    model.to(device).train()
    x, y = x.to(device), y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=generator).split(batch_size):
            idx = idx.to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def bench_loop(repeats: int = 9, n_per_class: int = 50, epochs: int = 1, batch_size: int = 64,
               data: tuple | None = None, seed: int = 0) -> dict:
    """``train.fit`` vs ``bare_loop``: same initial weights, data, batches and number of steps.

    After one untimed run of each, runs alternate A B B A ... and each is timed twice: wall clock
    and this process's CPU time (which other programs' load hardly changes). ``overhead`` is the
    median of the per-pair CPU-time ratios minus one, ``wall_overhead`` the same on wall clock."""
    import torch

    from tlcourse import domains
    from tlcourse.models import CourseNet
    from tlcourse.runtime import get_device
    from tlcourse.train import fit

    if data is None:
        letters = domains.load("letters", "train", n_per_class=n_per_class, seed=seed)
        data = (letters.x, letters.y)
    x, y = data
    device = get_device()
    torch.manual_seed(seed)
    initial = CourseNet(int(y.max()) + 1)
    steps = epochs * -(-len(x) // batch_size)

    def run_fit():
        fit(copy.deepcopy(initial), (x, y), epochs=epochs, lr=1e-3, batch_size=batch_size, seed=seed,
            device=device, show_progress=False)

    def run_bare():
        bare_loop(copy.deepcopy(initial), x, y, epochs=epochs, lr=1e-3, batch_size=batch_size, seed=seed,
                  device=device)

    t = interleaved(run_fit, run_bare, repeats)
    return {"images": len(x), "steps": steps, "batch_size": batch_size, "repeats": repeats, "device": str(device),
            "fit_s": t["a_s"], "bare_s": t["b_s"], "fit_cpu_s": t["a_cpu_s"], "bare_cpu_s": t["b_cpu_s"],
            "overhead": t["overhead"], "wall_overhead": t["wall_overhead"],
            "fit_runs": t["a_runs"], "bare_runs": t["b_runs"]}


def interleaved(run_a: Callable[[], None], run_b: Callable[[], None], repeats: int) -> dict:
    """Time ``run_a`` against ``run_b``: one untimed run of each, then A B B A ..., each run timed on
    the wall clock and in this process's CPU time (which other programs' load hardly changes).
    ``overhead``: the median of the pairs' CPU-time ratios A / B minus one; ``wall_overhead`` the same
    on the wall clock."""
    def timed(fn) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - wall, time.process_time() - cpu

    run_a(), run_b()  # warm up: allocator, kernels, lazy imports
    times: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
    for r in range(repeats):
        for name in (("b", "a") if r % 2 == 0 else ("a", "b")):
            times[name].append(timed(run_a if name == "a" else run_b))
    pairs = list(zip(times["a"], times["b"]))
    return {"a_s": median([w for w, _ in times["a"]]), "b_s": median([w for w, _ in times["b"]]),
            "a_cpu_s": median([c for _, c in times["a"]]), "b_cpu_s": median([c for _, c in times["b"]]),
            "overhead": median([a[1] / b[1] for a, b in pairs]) - 1,
            "wall_overhead": median([a[0] / b[0] for a, b in pairs]) - 1,
            "a_runs": times["a"], "b_runs": times["b"]}


def bare_dann_loop(model, aligner, xs, ys, xt, *, epochs: int, lr: float, batch_size: int, seed: int,
                   trade_off: float, device) -> None:
    """The PyTorch loop ``adapt(method="dann")`` is compared with: the same batches, features, losses
    and SGD steps, written out without the scaffold (no statistics, history or selection)."""
    import torch
    from torch.nn import functional as F

    from tlcourse.adapt import dann_lambda
    from tlcourse.runtime import seed_everything

    model.to(device).train()
    aligner.to(device).train()
    params = list(model.parameters()) + list(aligner.parameters())
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
    total = epochs * -(-len(xs) // batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: (1 + 10 * step / total) ** -0.75)
    generator = seed_everything(seed)
    t_order, t_pos, step = torch.randperm(len(xt), generator=generator), 0, 0
    for _ in range(epochs):
        for idx in torch.randperm(len(xs), generator=generator).split(batch_size):
            if t_pos + len(idx) > len(xt):
                t_order, t_pos = torch.randperm(len(xt), generator=generator), 0
            x_t = xt[t_order[t_pos:t_pos + len(idx)]].to(device)
            t_pos += len(idx)
            with model.domain("source"):
                f_s = model.features(xs[idx].to(device))
            with model.domain("target"):
                f_t = model.features(x_t)
            align = aligner(f_s, f_t, trade_off * dann_lambda(step / total))
            loss = F.cross_entropy(model.head(f_s), ys[idx].to(device)) + align
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1


def bench_adapt(repeats: int = 5, n_per_class: int = 100, epochs: int = 1, batch_size: int = 16,
                data: tuple | None = None, seed: int = 0) -> dict:
    """``adapt.adapt`` (DANN, lesson 06's settings) vs ``bare_dann_loop``: same initial weights, data,
    batches and steps; timed as :func:`interleaved` times them."""
    import torch

    from tlcourse.adapt import AdaptNet, adapt, make_aligner
    from tlcourse.adapt.experiment import MAIN_SHIFT, load_shift
    from tlcourse.runtime import get_device

    if data is None:
        shift = load_shift(**MAIN_SHIFT, n_per_class=n_per_class, seed=seed)
        data = (shift.source.x, shift.source.y, shift.target.x)
    xs, ys, xt = data
    device = get_device()
    torch.manual_seed(seed)
    model = AdaptNet(int(ys.max()) + 1)
    aligner = make_aligner("dann", model.feature_dim)
    settings = dict(epochs=epochs, lr=0.01, batch_size=batch_size, seed=seed, trade_off=0.3)

    def run_adapt():
        adapt(copy.deepcopy(model), (xs, ys), xt, method="dann", aligner=copy.deepcopy(aligner), select="last",
              device=device, show_progress=False, **settings)

    def run_bare():
        bare_dann_loop(copy.deepcopy(model), copy.deepcopy(aligner), xs, ys, xt, device=device, **settings)

    t = interleaved(run_adapt, run_bare, repeats)
    return {"images": len(xs), "steps": epochs * -(-len(xs) // batch_size), "batch_size": batch_size,
            "repeats": repeats, "device": str(device), "adapt_s": t["a_s"], "bare_s": t["b_s"],
            "adapt_cpu_s": t["a_cpu_s"], "bare_cpu_s": t["b_cpu_s"], "overhead": t["overhead"],
            "wall_overhead": t["wall_overhead"]}


def data_worker(cache: str, splits: tuple[tuple[str, str], ...], reloads: int) -> dict:
    """In a fresh process: generate ``splits`` into the empty folder ``cache``, then reload them."""
    with _env(TLCOURSE_CACHE=cache):
        from tlcourse import domains

        start = time.perf_counter()
        n = sum(len(domains.load(name, split)) for name, split in splits)
        generate = time.perf_counter() - start
        times = []
        for _ in range(reloads):
            start = time.perf_counter()
            sum(len(domains.load(name, split)) for name, split in splits)
            times.append(time.perf_counter() - start)
    return {"images": n, "generate_s": generate, "reload_s": median(times)}


def bench_data(repeats: int = 2, reloads: int = 5, splits: tuple[tuple[str, str], ...] = DATA_SPLITS,
               fresh_process: bool = True) -> dict:
    """Generation speed into an empty ``TLCOURSE_CACHE`` (a new process each repeat, so nothing is
    warm: fonts are rasterised again) and the time to reload the cached images."""
    results = []
    ctx = multiprocessing.get_context("spawn")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="tlcourse-bench-cache-") as cache:
            if fresh_process:
                with ctx.Pool(1) as pool:
                    results.append(pool.apply(data_worker, (cache, splits, reloads)))
            else:
                results.append(data_worker(cache, splits, reloads))
    images = results[0]["images"]
    generate = median([r["generate_s"] for r in results])
    return {"splits": [f"{n}/{s}" for n, s in splits], "images": images, "repeats": repeats,
            "generate_s": generate, "images_per_s": images / generate,
            "reload_s": median([r["reload_s"] for r in results]), "reloads": reloads}


def bench_backbone() -> dict:
    """Lesson 08's real ImageNet backbone: its longest fine-tune, the PyTorch tutorial's CPU recipe timed in the
    same run, and a FreezeLab click with frozen blocks (``real_backbone.py``, beside this file)."""
    if __package__:
        from .real_backbone import bench_real_backbone
    else:
        from real_backbone import bench_real_backbone
    return bench_real_backbone()


def bench_grading(copies: int = 20, jobs: int = 2, notebook: str | Path | None = None,
                  budget_s: float | None = None) -> dict:
    """``tlcourse grade`` on ``copies`` complete submissions (``grading_bench.py``, beside this file).

    With ``budget_s``, one round of ``jobs`` copies runs first; the rest are graded only as far as
    the budget allows at that pace (the report says how many)."""
    if __package__:  # imported as benchmarks.bench (tests/test_bench.py)
        from .grading_bench import bench_grading as grade_copies
    else:  # run as a script: this folder is on sys.path
        from grading_bench import bench_grading as grade_copies

    if budget_s is None:
        batches = [grade_copies(notebook, copies=copies, jobs=jobs)]
    else:
        batches = [grade_copies(notebook, copies=min(jobs, copies), jobs=jobs)]
        per_copy = batches[0]["wall_s"] / batches[0]["copies"]
        more = min(copies - batches[0]["copies"], int((budget_s - batches[0]["wall_s"]) / per_copy))
        more -= more % jobs
        if more > 0:
            batches.append(grade_copies(notebook, copies=more, jobs=jobs))
    graded = sum(b["copies"] for b in batches)
    wall = sum(b["wall_s"] for b in batches)
    return {"notebook": batches[0]["notebook"], "copies": graded, "asked": copies, "jobs": jobs,
            "wall_s": wall, "per_submission_wall_s": wall / graded, "submissions_per_min": 60 * graded / wall,
            "median_notebook_s": max(batches, key=lambda b: b["copies"])["median_notebook_s"],
            "all_full_marks": all(b["all_full_marks"] for b in batches)}


def bench_claims(seeds: tuple[int, ...] = (0, 1, 2), steps: int = 200, sizes: tuple[int, int] = (5, 100),
                 dann_per_class: int = 300, **dann_overrides: Any) -> dict:
    """The results the lessons rely on, over ``seeds`` (accuracies, so load does not change them):
    the four cases (lesson 03's strategies on a similar and a different target, small and large),
    and DANN's share of the source-only -> oracle gap on lesson 06's shift."""
    from tlcourse import four_cases as fc
    from tlcourse.adapt import experiment as ex

    rows = fc.compare(["letters", "photos"], list(sizes), seeds=list(seeds), steps=steps, show_progress=False)
    means = fc.mean_over_seeds(rows)
    small = sizes[0]
    pretrained_best = max(means[("letters", small, s)] for s in fc.STRATEGIES[:3])
    cases = {f"{t} x {n}/class": {"winner": w, "acc": acc, "margin": margin}
             for (t, n), (w, acc, margin) in fc.winners(rows).items()}
    dann = {"source-only": [], "dann": [], "oracle": []}
    for seed in seeds:
        shift = ex.load_shift(**ex.MAIN_SHIFT, n_per_class=dann_per_class, seed=seed)
        for method in dann:
            dann[method].append(ex.run(method, shift, seed=seed, monitor=False, **dann_overrides).target_acc)
    mean = {k: statistics.fmean(v) for k, v in dann.items()}
    gap = ex.gap_closed(mean["source-only"], mean["dann"], mean["oracle"]) \
        if mean["oracle"] > mean["source-only"] else None  # no gap to close
    return {"seeds": list(seeds), "cases": cases,
            "pretrained_minus_scratch": pretrained_best - means[("letters", small, fc.STRATEGIES[3])],
            "dann_target_acc": mean, "dann_gap_closed": gap, "dann_strength": ex.MAIN_SHIFT["strength"]}


# ---------------------------------------------------------------------------------- bars and report
def bars(results: dict) -> list[dict]:
    """Every bar of the course design: what it asks, the measured value, and pass/fail (None = not
    measured in this run)."""
    out = []

    def bar(name: str, limit: str, value: str | None, passed: bool | None, note: str = "") -> None:
        out.append({"bar": name, "limit": limit, "measured": value if value is not None else "not measured",
                    "pass": passed, "note": note})

    nb = results.get("notebooks")
    if nb:
        worst = max(nb["notebooks"], key=lambda r: r["seconds"])
        failed = [r["name"] for r in nb["notebooks"] if r["status"] != "ok"]
        bar("each notebook at its defaults", f"<= {NOTEBOOK_LIMIT_S:.0f} s",
            f"max {worst['seconds']:.1f} s ({worst['name']})", worst["seconds"] <= NOTEBOOK_LIMIT_S and not failed,
            f"failed: {', '.join(failed)}" if failed else "")
        bar("whole course", f"<= {COURSE_LIMIT_S:.0f} s", f"{nb['total_s']:.1f} s ({len(nb['notebooks'])} notebooks)",
            nb["total_s"] <= COURSE_LIMIT_S and not failed)
    else:
        bar("each notebook at its defaults", f"<= {NOTEBOOK_LIMIT_S:.0f} s", None, None)
        bar("whole course", f"<= {COURSE_LIMIT_S:.0f} s", None, None)
    fl = results.get("freezelab")
    bar("FreezeLab retrain with a frozen backbone", f"<= {RETRAIN_LIMIT_S:.0f} s per click",
        f"{fl['retrain_click_s']:.2f} s" if fl else None, fl["retrain_click_s"] <= RETRAIN_LIMIT_S if fl else None,
        f"median of {fl['clicks']} clicks, {fl['n_per_class']} images/class, {fl['epochs']} epochs" if fl else "")
    bar("FreezeLab cached vs training through the frozen layers", f">= {CACHE_SPEEDUP_MIN:.0f}x faster",
        f"{fl['speedup']:.1f}x ({fl['cached_fit_s']:.2f} s vs {fl['uncached_fit_s']:.2f} s)" if fl else None,
        fl["speedup"] >= CACHE_SPEEDUP_MIN and fl["same_val_acc"] if fl else None,
        f"median of {fl['repeats']} pairs, {fl['speedup_epochs']} epochs" if fl else "")
    for key, what in (("loop", "train loop"), ("adapt", "adaptation loop (DANN)")):
        lp = results.get(key)
        bar(f"{what} overhead over a bare PyTorch loop", f"<= {LOOP_OVERHEAD_MAX:.0%}",
            f"{lp['overhead']:+.1%} CPU time ({lp['wall_overhead']:+.1%} wall clock), {lp['steps']} steps" if lp else None,
            lp["overhead"] <= LOOP_OVERHEAD_MAX if lp else None,
            f"median of {lp['repeats']} interleaved pairs" if lp else "")
    bb = results.get("backbone")
    bar("a real ImageNet backbone fine-tuned inside a lesson", "<= 60 s",
        f"{bb['lesson_finetune_s']:.1f} s (the PyTorch tutorial's CPU recipe: about {bb['tutorial_estimate_s']:.0f} s "
        f"here, {bb['tutorial_over_lesson']:.0f}x longer)" if bb else None,
        bb["lesson_finetune_s"] <= 60 if bb else None, "lesson 08's LP-FT, 10 images/class, 6 epochs" if bb else "")
    bar("FreezeLab retrain on the real backbone with frozen blocks", f"<= {RETRAIN_LIMIT_S:.0f} s per click",
        f"{bb['freezelab_click_s']:.2f} s" if bb else None, bb["freezelab_click_s"] <= RETRAIN_LIMIT_S if bb else None)
    cl = results.get("claims")
    seeds = f" over {len(cl['seeds'])} seed{'s' if len(cl['seeds']) > 1 else ''}" if cl else ""
    bar("pretrained beats scratch on a small similar target (3 seeds)", "a wide margin (>= 0.15 accuracy)",
        f"{cl['pretrained_minus_scratch']:+.3f}{seeds}" if cl else None,
        cl["pretrained_minus_scratch"] >= 0.15 if cl else None, "" if cl else "run with --claims")
    bar("each case's winning strategy reported with its margin (3 seeds)", "reported",
        "; ".join(f"{k}: {v['winner']} by {v['margin']:+.3f}" for k, v in cl["cases"].items()) + seeds if cl else None,
        True if cl else None, "" if cl else "run with --claims")
    gap = cl["dann_gap_closed"] if cl else None
    bar("DANN closes at least half of the source-only -> oracle gap (3 seeds)", ">= 0.5",
        (f"{gap:.2f}{seeds}" if gap is not None else "no gap: the oracle does not beat source-only") if cl else None,
        (gap is not None and gap >= 0.5) if cl else None, "" if cl else "run with --claims")
    if "bench_s" in results:
        bar("make bench itself", f"<= {BENCH_LIMIT_S:.0f} s", f"{results['bench_s']:.0f} s",
            results["bench_s"] <= BENCH_LIMIT_S)
    return out


def _mark(passed: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "-"}[passed]


def render_markdown(results: dict) -> str:
    meta = results["meta"]
    kind = "quick smoke run" if meta["quick"] else "full run" if meta.get("full", True) else \
        f"sections {', '.join(meta['sections'])}"
    lines = [f"# tlcourse benchmark ({kind})", "",
             f"Measured {meta['date']} on {meta['machine']}; load average at start {meta['load_start']}, "
             f"at end {meta.get('load_end', '?')}. Command: `{meta['command']}`.", "",
             "## Performance bars", "", "| bar | limit | measured | result |", "|---|---|---|---|"]
    for b in results["bars"]:
        note = f" ({b['note']})" if b["note"] else ""
        lines.append(f"| {b['bar']} | {b['limit']} | {b['measured']}{note} | {_mark(b['pass'])} |")
    nb = results.get("notebooks")
    if nb:
        lines += ["", "## Notebooks at their defaults", "", "| notebook | wall time (s) | status |", "|---|---:|---|"]
        lines += [f"| {r['name']} | {r['seconds']:.1f} | {r['status']} |" for r in nb["notebooks"]]
        lines.append(f"| **total** | {nb['total_s']:.1f} | |")
    fl = results.get("freezelab")
    if fl:
        lines += ["", "## FreezeLab retrain (head only, backbone frozen)", "",
                  f"- first click (loads data, fills the feature cache; {fl['speedup_epochs']} epochs): {fl['first_click_s']:.2f} s",
                  f"- retrain click ({fl['epochs']} epochs, live plot and run table included): {fl['retrain_click_s']:.2f} s "
                  f"(median of {fl['clicks']})",
                  f"- {fl['speedup_epochs']} epochs from cached features {fl['cached_fit_s']:.2f} s vs through the frozen layers "
                  f"every step {fl['uncached_fit_s']:.2f} s: {fl['speedup']:.1f}x (median of {fl['repeats']}); "
                  f"same validation accuracy: {fl['same_val_acc']}"]
    for key, title, what, ours in (("loop", "Training loop", "`train.fit` against a bare PyTorch loop", "fit"),
                                   ("adapt", "Adaptation loop", "`adapt.adapt` (DANN) against a bare PyTorch DANN loop",
                                    "adapt")):
        lp = results.get(key)
        if lp:
            lines += ["", f"## {title} overhead", "",
                      f"{what}, {lp['images']} images, {lp['steps']} steps of {lp['batch_size']} on {lp['device']}, "
                      f"{lp['repeats']} interleaved pairs: CPU time {lp[ours + '_cpu_s']:.2f} s vs {lp['bare_cpu_s']:.2f} s, "
                      f"wall clock {lp[ours + '_s']:.2f} s vs {lp['bare_s']:.2f} s (medians); overhead "
                      f"{lp['overhead']:+.1%} in CPU time, {lp['wall_overhead']:+.1%} in wall clock (medians of the pairs' "
                      "ratios)."]
    dt_ = results.get("data")
    if dt_:
        lines += ["", "## Data", "",
                  f"- generating {dt_['images']:,} images ({', '.join(dt_['splits'])}) into an empty cache, fresh process: "
                  f"{dt_['generate_s']:.1f} s = {dt_['images_per_s']:,.0f} images/s (median of {dt_['repeats']})",
                  f"- reloading them from the cache: {dt_['reload_s']:.2f} s (median of {dt_['reloads']})"]
    gr = results.get("grading")
    if gr:
        lines += ["", "## Grading", "",
                  f"`tlcourse grade` on {gr['copies']} complete submissions of {gr['notebook']} with {gr['jobs']} parallel jobs"
                  + (f" ({gr['asked']} asked; the rest did not fit the time budget)" if gr["copies"] < gr["asked"] else "")
                  + ": "
                  f"{gr['wall_s']:.1f} s wall ({gr['per_submission_wall_s']:.2f} s per submission, "
                  f"{gr['submissions_per_min']:.1f} submissions/min; median notebook {gr['median_notebook_s']:.1f} s); "
                  f"every copy got full marks: {gr['all_full_marks']}."]
    cl = results.get("claims")
    if cl:
        lines += ["", f"## Claims over seeds {cl['seeds']}", "", "| case | winner | mean acc | margin |", "|---|---|---:|---:|"]
        lines += [f"| {k} | {v['winner']} | {v['acc']:.3f} | {v['margin']:+.3f} |" for k, v in cl["cases"].items()]
        acc = cl["dann_target_acc"]
        lines += ["", f"DANN on lesson 06's shift (digits-printed -> digits-on-photos, blend strength "
                      f"{cl.get('dann_strength')}): source-only {acc['source-only']:.3f}, DANN {acc['dann']:.3f}, "
                      f"oracle {acc['oracle']:.3f}; gap closed "
                      + (f"{cl['dann_gap_closed']:.2f}." if cl["dann_gap_closed"] is not None else "undefined.")]
    if results.get("errors"):
        lines += ["", "## Sections that failed", ""] + [f"- {k}: {v}" for k, v in results["errors"].items()]
    lines += ["", "Sections took: " + ", ".join(f"{k} {v:.0f} s" for k, v in results["section_s"].items())
              + f"; total {results['bench_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def _load() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def run(sections: list[str], out: Path, quick: bool = False, budget_s: float = BENCH_LIMIT_S - 30,
        log: Callable[[str], None] = print) -> dict:
    """Run ``sections`` and write ``out/report.md`` and ``out/report.json``; return the results.

    ``budget_s`` bounds only the grading section (the last timed one, and the only one without a
    bar): it grades as many of its 20 copies as fit in what is left."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"meta": {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "quick": quick,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_start": _load(), "command": " ".join(["python tests/benchmarks/bench.py", *sys.argv[1:]])},
        "section_s": {}, "errors": {}}
    for name in [s for s in SECTIONS if s in sections]:  # cheap and timing-sensitive sections first
        log(f"[bench] {name} ...")
        t0 = time.perf_counter()
        try:
            with _env(TLCOURSE_PROGRESS="0"):
                full_call, quick_call = SECTIONS[name]
                results[name] = quick_call(out) if quick else full_call(out, budget_s - (time.perf_counter() - start))
        except Exception as err:  # report the others, fail at the end
            results["errors"][name] = f"{type(err).__name__}: {err}"
            log(f"[bench] {name} FAILED: {results['errors'][name]}")
        results["section_s"][name] = time.perf_counter() - t0
        log(f"[bench] {name} took {results['section_s'][name]:.0f} s")
    results["bench_s"] = time.perf_counter() - start
    results["meta"]["load_end"] = _load()
    full = not quick and set(sections) >= set(SECTIONS) - {"claims"}
    results["meta"].update(full=full, sections=list(sections))
    results["bars"] = bars(results if full else {k: v for k, v in results.items() if k != "bench_s"})
    (out / "report.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "report.md").write_text(render_markdown(results))
    return results


#: Every section in the order it runs (cheap and timing-sensitive first): name -> (its full run, given the
#: output folder and the seconds left of the budget; its quick smoke run, given the output folder).
SECTIONS: dict[str, tuple[Callable[[Path, float], dict], Callable[[Path], dict]]] = {
    "loop": (lambda out, left: bench_loop(), lambda out: bench_loop(repeats=3, n_per_class=10)),
    "adapt": (lambda out, left: bench_adapt(), lambda out: bench_adapt(repeats=1, n_per_class=10)),
    "freezelab": (lambda out, left: bench_freezelab(),
                  lambda out: bench_freezelab(clicks=1, repeats=1, epochs=3, speedup_epochs=2)),
    "data": (lambda out, left: bench_data(),
             lambda out: bench_data(repeats=1, reloads=2, splits=(("digits-printed", "val"),))),
    "backbone": (lambda out, left: bench_backbone(), lambda out: bench_backbone()),
    "notebooks": (lambda out, left: bench_notebooks(out), lambda out: bench_notebooks(out, only=["00"])),
    "grading": (lambda out, left: bench_grading(copies=20, budget_s=left), lambda out: bench_grading(copies=2)),
    "claims": (lambda out, left: bench_claims(),
               lambda out: bench_claims(seeds=(0,), steps=20, sizes=(5, 20), dann_per_class=100, epochs=2)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench"), help="folder for report.md and report.json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that every section runs")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--claims", action="store_true", help="also measure the 3-seed claims (several minutes)")
    parser.add_argument("--budget", type=float, default=BENCH_LIMIT_S - 30,
                        help="seconds the whole run may take; grading grades only the copies that fit (default %(default)s)")
    args = parser.parse_args(argv)
    sections = args.only or [s for s in SECTIONS if s != "claims" or args.claims]
    results = run(sections, args.out, quick=args.quick, budget_s=args.budget)
    print(render_markdown(results))
    print(f"written: {args.out / 'report.md'}, {args.out / 'report.json'}")
    failed = results["errors"] or any(b["pass"] is False for b in results["bars"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
