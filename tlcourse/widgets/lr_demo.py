"""A tiny widget for lesson 00: pick a learning rate, fit a line by gradient descent, see the loss.

It shows how every widget in the course behaves: the button is disabled while it works, results
appear in the output area below it, and a bad choice is explained there instead of a traceback.
"""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from torch import nn

from tlcourse.i18n import tr


def _toy_problem(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """200 noisy points on the line y = 3x, with x of standard deviation 2."""
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.randn(200, 1, generator=g)
    return x, 3 * x + 0.5 * torch.randn(200, 1, generator=g)


def train_toy(lr: float, steps: int, seed: int = 0) -> list[float]:
    """Fit y = wx + b by full-batch gradient descent; returns the mean squared error at every step.

    The loss's curvature along w is 2 E[x^2] = 8, so steps larger than 2/8 = 0.25 overshoot
    further each time and the loss explodes: the demo lets a learner find that edge.
    """
    x, y = _toy_problem(seed)
    torch.manual_seed(seed)
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


class LearningRateDemo:
    """Slider for the learning rate, a Train button, a loss plot and a table of runs."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.lr = W.FloatLogSlider(value=0.05, base=10, min=-3, max=0, description=tr("learning rate"),
                                   style={"description_width": "initial"}, readout_format=".4f")
        self.steps = W.IntSlider(value=50, min=0, max=300, step=10, description=tr("steps"))
        self.button = W.Button(description=tr("Train"), button_style="primary", icon="play")
        self.message = W.HTML()
        self.out = W.Output()
        self.runs: list[dict] = []
        self.button.on_click(self._on_click)
        self.widget = W.VBox([W.HBox([self.lr, self.steps, self.button]), self.message, self.out])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _on_click(self, _=None) -> None:
        self.button.disabled = True
        try:
            self.out.clear_output(wait=True)
            if self.steps.value == 0:
                self.message.value = tr("<b>Choose at least 10 steps</b>: with 0 steps nothing is trained.")
                return
            losses = train_toy(self.lr.value, self.steps.value, self.seed)
            final = losses[-1]
            verdict = "diverged" if not final < losses[0] else "converged"
            self.runs.append({"lr": self.lr.value, "steps": self.steps.value,
                              "final loss": final, "verdict": verdict})
            self.message.value = tr("Run {run}: gradient descent {verdict} (final MSE {loss:.4g}).",
                                     run=len(self.runs), verdict=tr(verdict), loss=final)
            with self.out:
                self._show(losses)
        finally:
            self.button.disabled = False

    def _show(self, losses: list[float]) -> None:
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(range(1, len(losses) + 1), losses, label=f"lr = {self.lr.value:.4g}")
        ax.set(title=tr("Fitting a line by gradient descent"), xlabel=tr("step"), ylabel=tr("mean squared error"),
               yscale="log")
        ax.legend()
        plt.show()
        print(f"{'lr':>10} {tr('steps'):>6} {tr('final loss'):>11}  {tr('verdict')}")
        for r in self.runs:
            print(f"{r['lr']:>10.4g} {r['steps']:>6d} {r['final loss']:>11.4g}  {tr(r['verdict'])}")
