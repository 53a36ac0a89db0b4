"""The notebook of the test of the test: the lessons' widgets, once healthy and once with a planted fault.

One small notebook (one kernel, one Run All), one widget per cell; each cell's first line names it:

- ``# control: lr demo`` and ``# control: freezelab``: the widgets as they are (the checks pass);
- ``# fault: lr demo train raises``: the Train callback raises (the traceback goes to JupyterLab's log);
- ``# fault: freezelab train raises``: training fails (the widget says "Something went wrong");
- ``# fault: freezelab no plot``: the live plot is never drawn;
- ``# fault: a cell raises``: a traceback in the notebook after Run All.

The FreezeLabs use a random network and synthetic data: no checkpoint or domain is needed.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

NAME = "widget_faults.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

_SETUP = """\
# setup
import torch
from tlcourse.models import CourseNet
from tlcourse.widgets.freezelab import FreezeLab
from tlcourse.widgets.lr_demo import LearningRateDemo


class Planted(list):
    def append(self, item):
        raise RuntimeError("planted failure: the Train callback raises")


def toy(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    for c in range(4):
        r, col = divmod(c, 2)
        x[y == c, :, 14 * r:14 * r + 14, 14 * col:14 * col + 14] += 0.8
    return x, y


def toy_lab():
    torch.manual_seed(0)
    return FreezeLab(CourseNet(4), "toy", data={"train": toy(200, 0), "val": toy(40, 1)}, n_per_class=10, epochs=3)"""

CELLS = {
    "control: lr demo": "demo = LearningRateDemo(seed=0)\ndemo.button.click()\ndemo",
    "fault: lr demo train raises": "broken_demo = LearningRateDemo(seed=0)\nbroken_demo.button.click()\n"
                                   "broken_demo.runs = Planted(broken_demo.runs)   # the next click raises\nbroken_demo",
    "control: freezelab": "lab = toy_lab()\nlab",
    "fault: freezelab train raises": "def crash():\n    raise RuntimeError(\"planted failure: training crashed\")\n\n"
                                     "raising_lab = toy_lab()\nraising_lab._train = crash\nraising_lab",
    "fault: freezelab no plot": "silent_lab = toy_lab()\nsilent_lab._draw = lambda final=False: None   "
                                "# the live plot is never drawn\nsilent_lab",
    "fault: a cell raises": "raise RuntimeError(\"planted failure: a cell raises\")   # last, so Run All reaches every cell",
}


def write_broken_notebooks(folder: Path) -> Path:
    """Write the notebook into ``folder``."""
    cells = [new_code_cell(_SETUP)] + [new_code_cell(f"# {marker}\n{src}") for marker, src in CELLS.items()]
    path = Path(folder) / NAME
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path
