"""The course network: 3 convolutional + 3 fully connected layers, small enough for a laptop CPU.

It is one flat ``nn.Sequential`` whose modules have names, so every layer is reachable as
``net.conv1`` ... ``net.fc3`` and "everything up to conv2" is simply a slice of the sequence::

    conv1 relu1 pool1 | conv2 relu2 pool2 | conv3 relu3 pool3 | flatten fc1 relu4 | fc2 relu5 | fc3

Input: 1 x 28 x 28 images with values in [0, 1] (ink bright, background dark).
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

from tlcourse.i18n import tr

#: The six layers that carry weights, bottom to top. Widgets and surgery use these names.
LAYERS: tuple[str, ...] = ("conv1", "conv2", "conv3", "fc1", "fc2", "fc3")


class CourseNet(nn.Sequential):
    """Conv(1->c1)->Conv(c1->c2)->Conv(c2->c3), each 3x3 + ReLU + 2x2 max-pool, then FC-FC-FC.

    ``width`` scales the channel counts (16, 32, 64 at width 1).
    """

    def __init__(self, num_classes: int, in_channels: int = 1, width: int = 1, hidden: int = 256):
        c1, c2, c3 = 16 * width, 32 * width, 64 * width
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, c1, 3, padding=1)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),                                   # 28 -> 14
            ("conv2", nn.Conv2d(c1, c2, 3, padding=1)), ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),                                   # 14 -> 7
            ("conv3", nn.Conv2d(c2, c3, 3, padding=1)), ("relu3", nn.ReLU()),
            ("pool3", nn.MaxPool2d(2)),                                   # 7 -> 3
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(c3 * 3 * 3, hidden)), ("relu4", nn.ReLU()),
            ("fc2", nn.Linear(hidden, hidden // 2)), ("relu5", nn.ReLU()),
            ("fc3", nn.Linear(hidden // 2, num_classes)),
        ]))
        self.num_classes = num_classes
        self.config = {"num_classes": num_classes, "in_channels": in_channels, "width": width,
                       "hidden": hidden}

    def __getitem__(self, idx):
        """``net[a:b]`` is a plain ``nn.Sequential`` sharing this network's modules."""
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)


def layer_names(model: nn.Module) -> list[str]:
    """Names of the children that carry weights (their own or their submodules'), bottom to top
    (``LAYERS`` for a CourseNet; ``stem, block1..block7, conv_head, head`` for ``backbone.Backbone``)."""
    return [name for name, m in model.named_children() if any(True for _ in m.parameters())]


def block_end(model: nn.Sequential, layer: str) -> int:
    """Index just past ``layer`` and the parameter-free modules (ReLU, pool, ...) that follow it."""
    names = [n for n, _ in model.named_children()]
    if layer not in names:
        raise KeyError(tr("no layer {layer!r}; this model has {names}", layer=layer, names=layer_names(model)))
    weighted = set(layer_names(model))
    end = names.index(layer) + 1
    while end < len(names) and names[end] not in weighted and names[end] != "flatten":
        end += 1
    return end


def block_end_slice(model: nn.Sequential, layer: str) -> nn.Sequential:
    """The bottom of ``model`` up to and including ``layer``'s block, sharing its modules."""
    return model[: block_end(model, layer)]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
