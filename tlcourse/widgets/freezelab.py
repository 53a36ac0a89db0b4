"""FreezeLab: choose per layer what to freeze, train or remove, press Train, compare the runs.

For a pretrained network and a target domain, each layer ``conv1 .. fc3`` gets one of:

- **frozen**: keeps its pretrained weights;
- **trainable**: starts from its pretrained weights and is fine-tuned;
- **removed**: the network is cut below it and a new fully connected head is put on top
  (removing is a cut, so the removed layers must be a contiguous top part).

``fc3`` is always replaced by a new layer sized for the target's classes. Learning rates are set
per group (bottom / middle / top, see ``surgery.layer_groups``) or from a preset.

When only the top of the network trains, the frozen prefix runs once per dataset: its outputs are
kept in a :class:`~tlcourse.train.FeatureCache` per data size that lives as long as the widget
(``lab.feature_caches``), keyed on the frozen layers, their weights and the images. That is why a
retrain takes seconds. Validation accuracy is
for choosing; the test accuracy in the run table is for the final report only.
"""
from __future__ import annotations

import base64
import html
import io
import time
from typing import Any

import ipywidgets as W
import torch
from torch import nn

from tlcourse import surgery
from tlcourse.domains import subsample
from tlcourse.finetune import (CHOICES, build_model, check_plan, gradual_unfreeze, layer_lrs, plan_summary,
                               trainable_groups)
from tlcourse.i18n import language, tr
from tlcourse.models import count_parameters, layer_names
from tlcourse.train import Data, FeatureCache, History, as_tensors, evaluate, fit, frozen_features, split_frozen

#: Learning-rate presets per group (bottom, middle, top); "discriminative" is geometric per layer
#: from the bottom rate to the top rate (``surgery.discriminative_lrs``).
PRESETS: dict[str, tuple[float, float, float]] = {
    "2:4:6": (surgery.PRESET_246["bottom"], surgery.PRESET_246["middle"], surgery.PRESET_246["top"]),
    "uniform 1e-3": (1e-3, 1e-3, 1e-3),
    "discriminative": (1e-5, 1e-4, 1e-3),
}
SCHEDULES = ("all at once", "gradual")
GROUPS = ("bottom", "middle", "top")
_STYLE = {"description_width": "110px"}


def _options(values) -> list:
    """Choices shown in the current language; their values (what code sets and reads) stay English."""
    values = tuple(values)
    return values if language() == "en" else [(tr(v), v) for v in values]


class FreezeLab:
    """The widget. Display it in a notebook, or drive it from code::

        lab = FreezeLab()                      # course checkpoint, "letters" target
        lab.layers["conv3"].value = "trainable"
        lab.button.click()
        print(lab.runs_table())

    ``data`` replaces the domain: ``{"train": ..., "val": ..., "test": ...}`` of DomainData or
    ``(x, y)`` tuples (``test`` optional); the training split is subsampled per class. Validation
    uses ``val_per_class`` images per class, the test report ``test_per_class`` (None = all).
    """

    def __init__(self, model: nn.Sequential | None = None, target: str = "letters", *,
                 data: dict[str, Data] | None = None, n_per_class: int = 10, epochs: int = 15,
                 preset: str = "2:4:6", seed: int = 0, val_per_class: int = 50,
                 test_per_class: int | None = None, live_plot: bool = True,
                 device: str | torch.device | None = None):
        if data is not None and not {"train", "val"} <= set(data):
            raise ValueError(f"data needs 'train' and 'val' splits ('test' is optional), got {sorted(data)}")
        if model is None:
            from tlcourse import zoo

            model = zoo.load_pretrained()
        self.pretrained = model.eval()
        self.target, self.data, self.seed, self.live_plot = target, data, seed, live_plot
        self.val_per_class, self.test_per_class = val_per_class, test_per_class
        self.device = device
        self.names = layer_names(model)
        self.classes: list[str] | None = None
        self.runs: list[dict[str, Any]] = []
        self.model: nn.Sequential | None = None      # the last trained model
        self.history: History | None = None          # and its history
        self.last_error: BaseException | None = None
        self._datasets: dict[int, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {}
        self._eval_splits: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None
        self.feature_caches: dict[int, FeatureCache] = {}  # frozen layers' outputs, one cache per data size
        self._rows: list[dict[str, float]] = []
        self._next_draw = 0.0
        self._fig = None
        self._syncing = False

        head = self.names[-1]
        self.layers = {n: W.ToggleButtons(options=_options(CHOICES), value="trainable" if n == head else "frozen",
                                          description=tr("{layer} (new head)", layer=n) if n == head else n,
                                          style={**_STYLE, "button_width": "80px"},
                                          tooltips=[tr("keep the pretrained weights fixed"),
                                                    tr("fine-tune this layer"),
                                                    tr("cut the network below this layer")])
                       for n in self.names}
        self.size = W.IntSlider(value=n_per_class, min=0, max=200, step=5, description=tr("images/class"),
                                style=_STYLE, continuous_update=False)
        self.epochs = W.IntSlider(value=epochs, min=0, max=60, description=tr("epochs"), style=_STYLE,
                                  continuous_update=False)
        self.schedule = W.ToggleButtons(options=_options(SCHEDULES), value="all at once", description=tr("schedule"),
                                        style=_STYLE, tooltips=[tr("train every trainable layer from the start"),
                                                                tr("top group first, one group more per stage "
                                                                   "(epochs per stage)")])
        self.preset = W.Dropdown(options=_options([*PRESETS, "custom"]), value=preset, description=tr("lr preset"),
                                 style=_STYLE)
        self.lrs = {g: W.FloatText(value=v, description=tr("lr {group}", group=tr(g)), style=_STYLE,
                                   layout={"width": "220px"})
                    for g, v in zip(GROUPS, PRESETS[preset])}
        self.groups_info = W.HTML()
        self.button = W.Button(description=tr("Train"), button_style="primary", icon="play",
                               tooltip=tr("train a new model with these settings"))
        self.message = W.HTML()
        self.plot_out = W.Output()
        self.table = W.HTML()

        self.preset.observe(self._on_preset, names="value")
        for box in self.lrs.values():
            box.observe(self._on_lr_edit, names="value")
        for toggle in self.layers.values():
            toggle.observe(self._on_plan_change, names="value")
        self.button.on_click(self._on_click)
        self._on_preset()
        self._on_plan_change()
        title = W.HTML(tr("<b>FreezeLab</b>: {target}, layers bottom to top",
                          target=html.escape(self._target_name())))
        self.widget = W.VBox([
            title, *self.layers.values(),
            W.HBox([W.VBox([self.size, self.epochs, self.schedule]),
                    W.VBox([self.preset, *self.lrs.values(), self.groups_info])]),
            self.button, self.message, self.plot_out, self.table])

    # ------------------------------------------------------------------ display and state
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _target_name(self) -> str:
        return self.target if self.data is None else tr("{target} (given data)", target=self.target)

    @property
    def plan(self) -> dict[str, str]:
        """What each layer does in the next run."""
        return {n: t.value for n, t in self.layers.items()}

    def _on_preset(self, _=None) -> None:
        if self.preset.value in PRESETS:
            self._syncing = True
            for g, v in zip(GROUPS, PRESETS[self.preset.value]):
                self.lrs[g].value = v
            self._syncing = False
        self.lrs["middle"].disabled = self.preset.value == "discriminative"

    def _on_lr_edit(self, _=None) -> None:
        if not self._syncing and self.preset.value not in ("custom", "discriminative"):
            self.preset.value = "custom"

    def _on_plan_change(self, _=None) -> None:
        try:
            model = build_model(self.pretrained, self.plan, 2, seed=self.seed)
        except ValueError:
            self.groups_info.value = ""
            return
        groups = surgery.layer_groups(model)
        self.groups_info.value = "<small>" + "<br>".join(
            f"{tr(g)}: {', '.join(groups[g]) or '-'}" for g in GROUPS) + "</small>"

    def layer_lrs(self, model: nn.Module) -> dict[str, float]:
        """The learning rate of each layer of ``model`` from the lr controls."""
        bottom, middle, top = (self.lrs[g].value for g in GROUPS)
        if self.preset.value == "discriminative":
            return layer_lrs(model, "discriminative", top_lr=top, ratio=top / bottom)
        return layer_lrs(model, dict(zip(GROUPS, (bottom, middle, top))))

    # ------------------------------------------------------------------ data
    def splits(self, n: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Train (``n`` per class), val (``val_per_class``) and test tensors, loaded once."""
        if self._eval_splits is None:
            if self.data is None:
                from tlcourse import domains

                full = {s: domains.load(self.target, s) for s in ("val", "test")}
                self.classes = list(full["val"].classes)
            else:
                full = {s: self.data[s] for s in ("val", "test") if s in self.data}
                self.classes = [str(c) for c in torch.unique(as_tensors(self.data["train"])[1]).tolist()]
            self._eval_splits = {s: as_tensors(d) for s, d in full.items()}
            for split, n_eval in (("val", self.val_per_class), ("test", self.test_per_class)):
                if n_eval and split in self._eval_splits:  # up to n_eval per class
                    x, y = self._eval_splits[split]
                    self._eval_splits[split] = subsample((x, y), min(n_eval, int(y.bincount().min())), self.seed)
        if n not in self._datasets:
            if self.data is None:
                from tlcourse import domains

                train = as_tensors(domains.load(self.target, "train", n_per_class=n, seed=self.seed))
            else:
                train = as_tensors(subsample(self.data["train"], n, self.seed))
            self._datasets[n] = {"train": train, **self._eval_splits}
        return self._datasets[n]

    # ------------------------------------------------------------------ training
    def _check_choices(self) -> str | None:
        """A sentence explaining why the current choices cannot train, or None."""
        if self.size.value <= 0:
            return tr("Choose at least 1 image per class: with no data there is nothing to learn from.")
        if self.epochs.value <= 0:
            return tr("Choose at least 1 epoch: with 0 epochs nothing is trained.")
        bad = [g for g in GROUPS if not self.lrs[g].value > 0
               and not (g == "middle" and self.preset.value == "discriminative")]
        if bad:
            return tr("The learning rate of {groups} is {lr:g}: learning rates must be positive. To stop a layer "
                      "from learning, set it to <i>frozen</i> instead.",
                      groups=", ".join(tr(g) for g in bad), lr=self.lrs[bad[0]].value)
        return None

    def _on_click(self, _=None) -> None:
        self.button.disabled = True
        try:
            self._train()
        except Exception as err:  # a widget explains, it does not print tracebacks
            self.last_error = err
            self.message.value = tr("<b>Something went wrong</b>: {error}",
                                    error=html.escape(f"{type(err).__name__}: {err}"))
        finally:
            self.button.disabled = False

    def _train(self) -> None:
        problem = self._check_choices()
        plan = self.plan
        if problem is None:
            try:
                check_plan(plan, self.names)
            except ValueError as err:
                problem = html.escape(str(err)[0].upper() + str(err)[1:]) + "."
        if problem is not None:
            self.message.value = tr("<b>Cannot train</b>: {problem}", problem=problem)
            return
        n, epochs = self.size.value, self.epochs.value
        self.message.value = tr("Training run {run} ...", run=len(self.runs) + 1)
        try:
            splits = self.splits(n)
        except (ValueError, KeyError) as err:
            self.message.value = tr("<b>Cannot load the data</b>: {error}", error=html.escape(str(err)))
            return
        model = build_model(self.pretrained, plan, len(self.classes), seed=self.seed)
        lrs = self.layer_lrs(model)
        self._rows, self._next_draw = [], 0.0
        kwargs = dict(seed=self.seed, device=self.device, show_progress=False, on_epoch=self._on_epoch,
                      feature_cache=self.feature_caches.setdefault(n, FeatureCache()))
        cached_before = len(kwargs["feature_cache"])
        start = time.perf_counter()
        if self.schedule.value == "gradual":
            history = gradual_unfreeze(model, splits["train"], splits["val"], groups=trainable_groups(model),
                                       epochs_per_stage=epochs, lr=lrs, **kwargs)
        else:
            history = fit(model, splits["train"], splits["val"], epochs=epochs,
                          lr=surgery.param_groups(model, lrs), **kwargs)
        seconds = time.perf_counter() - start
        self.model, self.history = model, history
        run = {"run": len(self.runs) + 1, "plan": plan_summary(plan), "schedule": self.schedule.value,
               "n/class": n, "epochs": len(history), "lrs": self._lr_label(),
               "trainable params": count_parameters(model, trainable_only=True),
               "cached layers": history.cached_layers, "seconds": seconds,
               "val acc": history.best["val_acc"]}
        if "test" in splits:
            run["test acc*"] = self._test_acc(model, splits["test"], kwargs["feature_cache"])
        run["curve"] = history.column("val_acc")
        self.runs.append(run)
        self._draw(final=True)
        self.table.value = self.runs_html()
        cache_note = ""
        if history.cached_layers:
            cache_note = tr("; the frozen layers' features came from the cache" if len(kwargs["feature_cache"])
                            == cached_before else "; the frozen layers ran once, their features are now cached")
        self.message.value = tr("Run {run}: best val acc {acc:.3f} after {epochs} epochs in {seconds:.1f} s "
                                "({params:,} trainable parameters{cache_note}).", run=run["run"],
                                acc=run["val acc"], epochs=len(history), seconds=seconds,
                                params=run["trainable params"], cache_note=cache_note)

    @staticmethod
    def _test_acc(model: nn.Sequential, test: tuple[torch.Tensor, torch.Tensor], cache: FeatureCache) -> float:
        """Test accuracy; a frozen prefix's test features are cached like the training ones."""
        prefix, top = split_frozen(model)
        device = next(model.parameters()).device
        return evaluate(top, (frozen_features(prefix, test[0], device, cache), test[1]))["acc"]

    def _lr_label(self) -> str:
        if self.preset.value in ("2:4:6", "uniform 1e-3"):
            return self.preset.value
        b, m, t = (self.lrs[g].value for g in GROUPS)
        if self.preset.value == "discriminative":
            return f"geometric {b:.0e}..{t:.0e}"
        return f"{b:.0e}/{m:.0e}/{t:.0e}"

    # ------------------------------------------------------------------ plots and tables
    def _on_epoch(self, row: dict[str, float]) -> None:
        self._rows.append(dict(row))
        self._draw()

    def _draw(self, final: bool = False) -> None:
        """Redraw the live plot: at the end of a run, and while training at most once per
        ``max(0.5 s, 4 x the last drawing time)``, so that drawing never dominates a retrain."""
        start = time.perf_counter()
        if not self.live_plot or not self._rows or (not final and start < self._next_draw):
            return
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png")
        self.plot_out.outputs = ({"output_type": "display_data", "metadata": {},
                                  "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
                                           "text/plain": "<FreezeLab loss and accuracy plot>"}},)
        now = time.perf_counter()
        self._next_draw = now + max(0.5, 4 * (now - start))

    def figure(self):
        """The live figure: loss and accuracy per epoch of the current run, earlier runs' val
        accuracy in grey. One figure is kept and updated (a ``matplotlib.figure.Figure`` outside
        pyplot, so a notebook does not show it twice)."""
        if self._fig is None:
            from matplotlib.figure import Figure

            self._fig = Figure(figsize=(9, 3.2), dpi=72)
            ax_loss, ax_acc = self._fig.subplots(1, 2)
            self._fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.25)
            self._lines = {f"{key}_{what}": ax.plot([], [], style, color=color, marker=".",
                                                    label=tr(f"{key} {what}"))[0]
                           for what, ax, color in [("loss", ax_loss, "C0"), ("acc", ax_acc, "C1")]
                           for key, style in [("train", "-"), ("val", "--")]}
            ax_acc.plot([], [], color="0.8", lw=1, label=tr("earlier runs (val acc)"))
            ax_loss.set(title=tr("Loss of this run"), xlabel=tr("epoch"), ylabel=tr("cross-entropy"))
            ax_acc.set(title=tr("Accuracy"), xlabel=tr("epoch"), ylabel=tr("accuracy"), ylim=(0, 1.02))
            ax_loss.legend(fontsize="small", loc="upper right")
            ax_acc.legend(fontsize="small", loc="lower right")
            self._earlier: dict[int, Any] = {}   # run number -> its grey line
        ax_loss, ax_acc = self._fig.axes
        for run in self.runs[-5:]:
            if run["run"] not in self._earlier:
                self._earlier[run["run"]] = ax_acc.plot(range(1, len(run["curve"]) + 1), run["curve"],
                                                        color="0.8", lw=1, zorder=1)[0]
        for number in sorted(self._earlier)[:-5]:
            self._earlier.pop(number).remove()
        epochs = [r["epoch"] for r in self._rows]
        for key, line in self._lines.items():
            line.set_data(epochs, [r[key] for r in self._rows])
        for ax in (ax_loss, ax_acc):
            ax.relim()
            ax.autoscale_view(scaley=ax is ax_loss)
        return self._fig

    def _table_rows(self) -> tuple[list[str], list[list[str]]]:
        cols = [c for c in (self.runs[0] if self.runs else {}) if c != "curve"]
        fmt = {"seconds": "{:.1f}", "val acc": "{:.3f}", "test acc*": "{:.3f}", "trainable params": "{:,}"}
        return cols, [[fmt.get(c, "{}").format(r[c]) for c in cols] for r in self.runs]

    def runs_table(self) -> str:
        """Every run so far as a text table (plan: F frozen, T trainable, - removed; bottom to top)."""
        cols, rows = self._table_rows()
        if not rows:
            return tr("no runs yet")
        widths = [max(len(tr(c)), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
        lines = ["  ".join(tr(c).rjust(w) for c, w in zip(cols, widths))]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows]
        if "test acc*" in cols:
            lines.append(tr("* test accuracy: for the final report only; compare and choose runs by val acc."))
        return "\n".join(lines)

    def runs_html(self) -> str:
        """The run table as HTML (what the widget shows)."""
        cols, rows = self._table_rows()
        head = "".join(f"<th>{html.escape(tr(c))}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows)
        note = "<br><small>" + tr("plan: one letter per layer, bottom to top (F frozen, T trainable, - removed). "
                                  "* test accuracy: for the final report only; choose by val acc.") + "</small>"
        return f"<table><tr>{head}</tr>{body}</table>{note}"


def benchmark_retrain(lab: FreezeLab | None = None, n_per_class: int = 10,
                      epochs: int = 15) -> dict[str, float]:
    """Seconds for a FreezeLab retrain with everything but the head frozen, cached vs uncached.

    - ``first_click_s``: the first click (loads the data, fills the feature cache);
    - ``retrain_click_s``: the next click with the same settings (live plot and run table included);
    - ``cached_fit_s`` / ``uncached_fit_s``: the same ``fit`` (same model, data, epochs and seed)
      with the frozen prefix's features from the widget's cache, and running the frozen layers at
      every step (``cache_frozen=False``); ``speedup`` is their ratio.

    Uses the course checkpoint and the lesson's small case unless ``lab`` is given.
    """
    lab = lab or FreezeLab(n_per_class=n_per_class, epochs=epochs)
    for name, toggle in lab.layers.items():
        toggle.value = "trainable" if name == lab.names[-1] else "frozen"
    lab.schedule.value = "all at once"
    lab.size.value, lab.epochs.value = n_per_class, epochs
    timings = {}
    for key in ("first_click_s", "retrain_click_s"):
        start = time.perf_counter()
        lab.button.click()
        timings[key] = time.perf_counter() - start
        if lab.last_error is not None or not lab.runs:
            raise RuntimeError(f"the retrain failed: {lab.message.value}")
    splits = lab.splits(n_per_class)
    for key, cached in (("cached_fit_s", True), ("uncached_fit_s", False)):
        model = build_model(lab.pretrained, lab.plan, len(lab.classes), seed=lab.seed)
        start = time.perf_counter()
        history = fit(model, splits["train"], splits["val"], epochs=epochs,
                      lr=surgery.param_groups(model, lab.layer_lrs(model)), seed=lab.seed, device=lab.device,
                      show_progress=False, cache_frozen=cached,
                      feature_cache=lab.feature_caches[n_per_class])
        timings[key] = time.perf_counter() - start
        timings[key.replace("fit_s", "val_acc")] = history.best["val_acc"]
    timings["speedup"] = timings["uncached_fit_s"] / timings["cached_fit_s"]
    return timings
