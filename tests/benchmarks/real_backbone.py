"""Lesson 08's performance bars for the real backbone (one function, for ``make bench``).

- the largest fine-tune inside the lesson (LP-FT: a linear probe, then every weight) at its defaults: <= 60 s;
- the PyTorch transfer-learning tutorial's CPU recipe (ResNet-18, 224 px, batch 4, SGD, its ~244 training and
  153 validation images, 25 epochs), timed over a few steps with random weights and scaled up; the ratio to ours;
- a FreezeLab retrain on EfficientNet-Lite0 with every block frozen (cached features): <= 3 s per click.

Run alone: ``python tests/benchmarks/real_backbone.py`` (prints the dict as JSON).
"""
from __future__ import annotations

import json
import statistics
import time

import torch
from torch import nn

TUTORIAL = {"train_images": 244, "val_images": 153, "epochs": 25, "batch_size": 4, "size": 224}


def _seconds_per_image(step, batch_size: int, steps: int) -> float:
    step()  # warm-up: allocations, first-call overheads
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / (steps * batch_size)


def tutorial_estimate(steps: int = 6) -> float:
    """Seconds the tutorial's CPU fine-tune would take here, scaled from ``steps`` timed batches."""
    import torchvision

    model = torchvision.models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    b, s = TUTORIAL["batch_size"], TUTORIAL["size"]
    x, y = torch.randn(b, 3, s, s), torch.randint(0, 2, (b,))

    def train_step():
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    @torch.no_grad()
    def val_step():
        model.eval()
        model(x)

    per_epoch = (_seconds_per_image(train_step, b, steps) * TUTORIAL["train_images"]
                 + _seconds_per_image(val_step, b, steps) * TUTORIAL["val_images"])
    return per_epoch * TUTORIAL["epochs"]


def bench_real_backbone(clicks: int = 3, seed: int = 0) -> dict:
    """The three measurements and their bars, as one dict."""
    from tlcourse import backbone, domains
    from tlcourse import backbone_transfer as bt
    from tlcourse.widgets.freezelab import FreezeLab

    imagenet = backbone.efficientnet_lite0()
    train = domains.load("colour-photos", "train", n_per_class=10, seed=seed)  # lesson 08's defaults
    val = domains.load("colour-photos", "test")
    xy = (bt.LESSON_INPUT(train.x), train.y)
    _, lesson_s = bt.adapt("LP-FT", xy, epochs=6, seed=seed, pretrained=imagenet)
    tutorial_s = tutorial_estimate()

    lab = FreezeLab(imagenet, target="colour-photos", data={"train": xy, "val": (bt.LESSON_INPUT(val.x), val.y)},
                    n_per_class=10, epochs=6, val_per_class=20, seed=seed, live_plot=False)
    lab.button.click()  # the first run fills the feature cache
    times = []
    for _ in range(clicks):
        start = time.perf_counter()
        lab.button.click()
        times.append(time.perf_counter() - start)
    click_s = statistics.median(times)
    return {"lesson_finetune_s": round(lesson_s, 1), "tutorial_estimate_s": round(tutorial_s, 1),
            "tutorial_over_lesson": round(tutorial_s / lesson_s, 1), "freezelab_click_s": round(click_s, 2),
            "bars": {"lesson fine-tune <= 60 s": lesson_s <= 60, "FreezeLab click on the backbone <= 3 s": click_s <= 3}}


if __name__ == "__main__":
    print(json.dumps(bench_real_backbone(), indent=2))
