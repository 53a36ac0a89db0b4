"""Deliberately broken widget notebooks: the browser checks must fail on each of them.

Small on purpose (a widget and one planted fault, no lesson around it), so the test of the test
costs seconds: the LR demo whose Train callback raises, a FreezeLab whose Train reports an error,
and a FreezeLab whose live plot never appears.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

_LR_DEMO = """\
from tlcourse.widgets.lr_demo import LearningRateDemo

demo = LearningRateDemo(seed=0)
demo.button.click()
demo"""

_RAISE_IN_TRAIN = """\
import tlcourse.widgets.lr_demo as lr_demo

def planted_failure(*args, **kwargs):
    raise RuntimeError("planted failure: the Train callback raises")

lr_demo.train_toy = planted_failure   # every click from now on raises inside the callback"""

# A FreezeLab on a random network and synthetic data: it needs neither the checkpoint nor the domains.
_TOY_FREEZELAB = """\
import torch
from tlcourse.models import CourseNet
from tlcourse.widgets.freezelab import FreezeLab

def toy(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    for c in range(4):
        r, col = divmod(c, 2)
        x[y == c, :, 14 * r:14 * r + 14, 14 * col:14 * col + 14] += 0.8
    return x, y

torch.manual_seed(0)
lab = FreezeLab(CourseNet(4), "toy", data={"train": toy(200, 0), "val": toy(40, 1)}, n_per_class=10, epochs=3)
lab"""

_FIT_RAISES = """\
import tlcourse.widgets.freezelab as freezelab

def planted_failure(*args, **kwargs):
    raise RuntimeError("planted failure: training crashed")

freezelab.fit = planted_failure"""

_NO_PLOT = """\
lab._draw = lambda final=False: None   # planted fault: the live plot is never drawn"""

#: The same widgets without a fault: the checks pass on them (so a failure above is the fault's doing).
CONTROLS = {
    "control_lr_demo.ipynb": [_LR_DEMO],
    "control_freezelab.ipynb": [_TOY_FREEZELAB],
}
BROKEN = {
    "broken_lr_demo_train_raises.ipynb": [_LR_DEMO, _RAISE_IN_TRAIN],
    "broken_freezelab_train_raises.ipynb": [_TOY_FREEZELAB, _FIT_RAISES],
    "broken_freezelab_no_plot.ipynb": [_TOY_FREEZELAB, _NO_PLOT],
}


def write_broken_notebooks(folder: Path) -> list[Path]:
    """Write the control and broken notebooks into ``folder``."""
    paths = []
    for name, cells in {**CONTROLS, **BROKEN}.items():
        nb = new_notebook(cells=[new_code_cell(src) for src in cells], metadata={"kernelspec": KERNELSPEC})
        nbformat.write(nb, folder / name)
        paths.append(folder / name)
    return paths
