"""Choose a source, then adapt it (lesson 08): the experiments behind the lesson, in one place.

**Which source?** :func:`source_features` embeds a target with either pretrained network (the
course network, or ImageNet EfficientNet-Lite0), each with its own :class:`~tlcourse.backbone.Preprocess`;
a linear probe on those frozen features (``probe.probe_accuracy``) says which source already
separates the target's classes.

**Ways to adapt** the ImageNet network, each a few calls to ``surgery`` and one ``train.fit``
(:data:`RECIPES`):

- ``linear probe``: everything frozen, a new head trained on cached features;
- ``fine-tune top``: the last two stages, the 1x1 conv and the head train; the rest is cached;
- ``fine-tune all``: every weight trains, with a small learning rate;
- ``LP-FT`` (Kumar et al. 2022): the linear probe first, then fine-tune all from there, so the
  random head cannot send large gradients into the pretrained features;
- ``LoRA`` (Hu et al. 2021, through ``peft``): every pretrained weight frozen, each 1x1 conv of the
  last stages gets a trainable low-rank update ``W + B A``; the head trains.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from tlcourse import backbone, surgery
from tlcourse.models import count_parameters
from tlcourse.train import Data, as_tensors, embed, evaluate, fit

#: The image size lessons give EfficientNet-Lite0 (224 px is ImageNet's; 96 px fits a laptop CPU).
SIZE = 96
LESSON_INPUT = backbone.Preprocess(size=SIZE, channels=3, low=-1.0, high=1.0)
RECIPES = ("linear probe", "fine-tune top", "fine-tune all", "LP-FT", "LoRA")
#: Learning rates: the new head learns fast, pretrained weights slowly (Adam).
HEAD_LR, BODY_LR, LORA_LR = 1e-2, 3e-4, 3e-3
#: The stages that fine-tune top and LoRA train (with conv_head and the head).
TOP = ("block6", "block7", "conv_head")


def source_features(source: str, data: Data | Tensor, net: nn.Sequential | None = None) -> Tensor:
    """Frozen features of ``data`` (course images in [0, 1]) seen by ``source``.

    ``"course network"``: 128 features after fc2 of the glyph-pretrained network (grey, 28 px);
    ``"ImageNet"``: 1280 pooled features of EfficientNet-Lite0 (colour, :data:`SIZE` px).
    """
    x = data if isinstance(data, Tensor) else as_tensors(data)[0]
    if source == "course network":
        from tlcourse import zoo

        return embed(net or zoo.load_pretrained(), backbone.COURSE_NET(x), upto="fc2")
    if source == "ImageNet":
        return embed(net or backbone.efficientnet_lite0(), LESSON_INPUT(x), upto="conv_head")
    raise ValueError(f"unknown source {source!r}; use 'course network' or 'ImageNet'")


def new_model(num_classes: int, seed: int = 0, pretrained: nn.Sequential | None = None) -> backbone.Backbone:
    """ImageNet EfficientNet-Lite0 with a new head for ``num_classes`` (seeded), everything frozen but the head."""
    torch.manual_seed(seed)
    net = surgery.replace_head(pretrained or backbone.efficientnet_lite0(), num_classes)
    return surgery.unfreeze(surgery.freeze(net), "head")


def add_lora(model: nn.Module, blocks: tuple[str, ...] = TOP, rank: int = 4, alpha: int = 8,
             seed: int = 0) -> nn.Module:
    """Give every 1x1 convolution inside ``blocks`` a LoRA update of ``rank`` (``peft``), in place.

    Only the LoRA factors train afterwards (peft freezes the rest); unfreeze the head yourself.
    """
    from peft import LoraConfig, inject_adapter_in_model

    targets = [name for name, m in model.named_modules()
               if name.split(".")[0] in blocks and isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    if not targets:
        raise ValueError(f"no 1x1 convolution inside {blocks}; this model has {[n for n, _ in model.named_children()]}")
    torch.manual_seed(seed)
    return inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets), model)


def head_and_body(net: nn.Module, body_lr: float, head_lr: float = HEAD_LR) -> list[dict]:
    """Two parameter groups for ``fit``: the new head at ``head_lr``, every other trainable weight at ``body_lr``."""
    head = [p for p in net.head.parameters() if p.requires_grad]
    body = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("head.")]
    return [{"params": head, "lr": head_lr}] + ([{"params": body, "lr": body_lr}] if body else [])


@dataclass
class Result:
    """One adaptation: accuracies in and out of distribution, trainable parameters, seconds."""

    recipe: str
    acc: float
    shifted_acc: float
    trainable: int
    seconds: float


def adapt(recipe: str, train: Data, *, epochs: int = 6, seed: int = 0,
          pretrained: nn.Sequential | None = None) -> tuple[nn.Module, float]:
    """Train a new model for ``train`` (already preprocessed) with ``recipe``; returns (model, seconds)."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; choose one of {RECIPES}")
    num_classes = int(as_tensors(train)[1].max()) + 1
    net = new_model(num_classes, seed, pretrained)
    start = time.perf_counter()
    kw = dict(epochs=epochs, batch_size=32, seed=seed, show_progress=False)
    if recipe in ("linear probe", "LP-FT"):
        fit(net, train, lr=HEAD_LR, **kw)
    if recipe == "fine-tune top":
        fit(surgery.unfreeze(net, TOP), train, lr=head_and_body(net, BODY_LR), **kw)
    elif recipe == "fine-tune all":
        fit(surgery.unfreeze(net), train, lr=head_and_body(net, BODY_LR), **kw)
    elif recipe == "LP-FT":  # the head is already fitted: everything moves slowly from there
        fit(surgery.unfreeze(net), train, lr=BODY_LR, **kw)
    elif recipe == "LoRA":
        add_lora(net, seed=seed)
        fit(surgery.unfreeze(net, "head"), train, lr=head_and_body(net, LORA_LR), **kw)
    return net.eval(), time.perf_counter() - start


def compare(train: Data, test: Data, shifted: Data, recipes: tuple[str, ...] = RECIPES, epochs: int = 6,
            seed: int = 0, pretrained: nn.Sequential | None = None) -> list[Result]:
    """Every recipe on the same preprocessed data, from the same ``pretrained`` network: one :class:`Result` each."""
    pretrained = pretrained or backbone.efficientnet_lite0()
    results = []
    for recipe in recipes:
        net, seconds = adapt(recipe, train, epochs=epochs, seed=seed, pretrained=pretrained)
        results.append(Result(recipe, evaluate(net, test)["acc"], evaluate(net, shifted)["acc"],
                              count_parameters(net, trainable_only=True), seconds))
    return results


SOURCES = ("course network", "ImageNet")
#: Lesson 08's two targets: one near the course network's source, one near ImageNet's photos.
TARGETS = ("handwritten", "colour-photos")


def which_source(n_per_class: int, seed: int = 0, targets: tuple[str, ...] = TARGETS,
                 nets: dict[str, nn.Sequential] | None = None) -> dict[tuple[str, str], float]:
    """Linear-probe test accuracy of each source's frozen features on each target, with ``n_per_class``
    labelled training images per class (chosen with ``seed``): ``{(source, target): accuracy}``."""
    from tlcourse import domains, zoo
    from tlcourse.probe import probe_accuracy

    nets = nets or {"course network": zoo.load_pretrained(), "ImageNet": backbone.efficientnet_lite0()}
    table = {}
    for target in targets:
        train, test = domains.load(target, "train", n_per_class, seed), domains.load(target, "test")
        for source in SOURCES:
            table[source, target] = probe_accuracy(source_features(source, train, nets[source]), train.y,
                                                   source_features(source, test, nets[source]), test.y)
    return table


def batchnorm_demo(train: Data, test: Data, *, epochs: int = 6, seed: int = 0,
                   pretrained: nn.Sequential | None = None) -> dict[str, float]:
    """A new head trained on the frozen network run every step (no cache), with its frozen BatchNorm
    layers kept in eval mode, and left in train mode (the common bug). Returns both test accuracies and
    ``"statistics drift"``: how far train mode moved the frozen running means, relative to their size."""
    num_classes = int(as_tensors(train)[1].max()) + 1
    pretrained = pretrained or backbone.efficientnet_lite0()
    out = {}
    for label, keep in (("BatchNorm in eval mode", True), ("BatchNorm in train mode", False)):
        net = new_model(num_classes, seed, pretrained)
        net.frozen_bn_eval = keep
        fit(net, train, lr=HEAD_LR, epochs=epochs, batch_size=32, seed=seed, cache_frozen=False, show_progress=False)
        out[label] = evaluate(net, test)["acc"]
    means = [(m.running_mean, b.running_mean) for m, b in zip(net.modules(), pretrained.modules())
             if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    out["statistics drift"] = float(sum((m - b).abs().sum() for m, b in means) / sum(b.abs().sum() for _, b in means))
    return out


def distance_to_glyphs(seed: int = 0, n: int = 200, net: nn.Sequential | None = None) -> dict[str, float]:
    """Lesson 01's MMD^2 between the course network's source (glyphs) and each of :data:`TARGETS`,
    on ``n`` random validation images of each, in the course network's fc2 features."""
    from tlcourse import domains
    from tlcourse.shift import mmd

    def sample(name: str, offset: int) -> Tensor:
        x = domains.load(name, "val").x
        pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + offset))[:n]
        return source_features("course network", x[pick], net)

    glyphs = sample("glyphs", 0)
    return {t: mmd(glyphs, sample(t, i + 1)) for i, t in enumerate(TARGETS)}
