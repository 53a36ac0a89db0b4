"""Which networks the pictures of lesson 05 work on, how their layers are named, what a unit sees.

Every method in ``tlcourse.viz`` walks a network module by module (the deconvnet even walks it
backwards), so it needs a plain stack of layers whose meaning it knows:

    Conv2d, ReLU, MaxPool2d  (+ Dropout and Identity, which do nothing at test time)

That covers the course network and torchvision's VGG / AlexNet ``features``. Anything else below
the last convolution (BatchNorm, residual blocks, other poolings, custom modules) is refused with
a message that names it, because walking past it would draw a wrong picture without saying so.

Convolutions are called ``conv1``, ``conv2``, ... bottom to top, whatever their module names are
(torchvision names them ``0``, ``3``, ...), so the same words work on every supported network.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

#: Modules the methods know how to run forwards and backwards.
SUPPORTED: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Dropout, nn.Identity)
_SUPPORTED_TEXT = ("a plain nn.Sequential of Conv2d, ReLU and MaxPool2d (Dropout/Identity allowed), "
                   "e.g. CourseNet, torchvision vgg11().features or alexnet().features")


class UnsupportedModelError(TypeError):
    """The network is not a plain conv/ReLU/max-pool stack (the message says what was found)."""


@dataclass(frozen=True)
class ConvStack:
    """A validated network: its modules in order with their names, and where the convolutions are."""

    modules: tuple[tuple[str, nn.Module], ...]  # (qualified name, module), nested Sequentials flattened
    convs: tuple[int, ...]                       # positions of the Conv2d modules in ``modules``

    @property
    def layer_names(self) -> list[str]:
        """``["conv1", "conv2", ...]``: the names every ``layer=`` argument accepts."""
        return [f"conv{k + 1}" for k in range(len(self.convs))]

    def conv_index(self, layer: str | int) -> int:
        """Position in ``modules`` of a convolution named ``"convK"``, by module name, or as an int."""
        if isinstance(layer, int) and 0 <= layer < len(self.modules) and layer in self.convs:
            return layer
        if isinstance(layer, str):
            if layer in self.layer_names:
                return self.convs[self.layer_names.index(layer)]
            for i in self.convs:
                if self.modules[i][0] == layer:
                    return i
        raise KeyError(f"no convolution {layer!r}; choose one of {self.layer_names}")

    def name(self, layer: str | int) -> str:
        """The ``convK`` name of a layer given any way ``conv_index`` accepts."""
        return self.layer_names[self.convs.index(self.conv_index(layer))]

    def end(self, layer: str | int) -> int:
        """Position just past ``layer`` and the ReLU right after it: its *activation* is taken there."""
        end = self.conv_index(layer) + 1
        while end < len(self.modules) and isinstance(self.modules[end][1], (nn.ReLU, nn.Dropout, nn.Identity)):
            end += 1
        return end

    def run(self, x: torch.Tensor, layer: str | int) -> torch.Tensor:
        """The activation maps of ``layer`` (after its ReLU), shape (N, channels, h, w)."""
        for _, module in self.modules[: self.end(layer)]:
            x = torch.relu(x) if isinstance(module, nn.ReLU) else module(x)  # never in place
        return x

    def channels(self, layer: str | int) -> int:
        return self.modules[self.conv_index(layer)][1].out_channels

    @property
    def device(self) -> torch.device:
        return self.modules[self.convs[0]][1].weight.device

    def receptive_field(self, layer: str | int, row: int, col: int) -> tuple[int, int, int, int]:
        """Input box ``(top, left, bottom, right)`` (end-exclusive) that unit (row, col) of ``layer``
        depends on. It can stick out of the image where the network pads."""
        (top, bottom), (left, right) = (row, row), (col, col)
        for _, module in reversed(self.modules[: self.conv_index(layer) + 1]):
            if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
                k, s, p, d = (as_pair(getattr(module, a)) for a in ("kernel_size", "stride", "padding", "dilation"))
                top, bottom = top * s[0] - p[0], bottom * s[0] - p[0] + d[0] * (k[0] - 1)
                left, right = left * s[1] - p[1], right * s[1] - p[1] + d[1] * (k[1] - 1)
        return top, left, bottom + 1, right + 1

    def receptive_field_size(self, layer: str | int) -> tuple[int, int]:
        top, left, bottom, right = self.receptive_field(layer, 0, 0)
        return bottom - top, right - left


def as_pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    """A conv or pool setting (``kernel_size``, ``stride``, ...) as (height, width)."""
    return (v, v) if isinstance(v, int) else (v[0], v[-1])


def _flatten(seq: nn.Sequential, prefix: str = "") -> list[tuple[str, nn.Module]]:
    out = []
    for name, module in seq.named_children():
        qualified = f"{prefix}{name}"
        if type(module) is nn.Sequential:  # a plain container: look inside it
            out += _flatten(module, qualified + ".")
        else:
            out.append((qualified, module))
    return out


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def conv_stack(model: nn.Module | ConvStack) -> ConvStack:
    """Check that ``model`` is supported and return it as a ``ConvStack``.

    Accepts an ``nn.Sequential`` (nested plain Sequentials are flattened) or a model whose
    ``features`` is one (torchvision VGG / AlexNet: their classifier is not needed here).
    Raises ``UnsupportedModelError`` naming the first module it cannot follow.
    """
    if isinstance(model, ConvStack):
        return model
    if not isinstance(model, nn.Sequential):
        features = getattr(model, "features", None)
        if isinstance(features, nn.Sequential):
            return conv_stack(features)
        found = [f"{type(m).__name__} at '{n}'" for n, m in model.named_modules()
                 if n and not isinstance(m, SUPPORTED) and type(m) is not nn.Sequential
                 and not any(True for _ in m.children())][:3]
        blocks = [f"{type(m).__name__} at '{n}'" for n, m in model.named_modules()
                  if n and type(m) is not nn.Sequential and any(True for _ in m.children())][:1]
        raise UnsupportedModelError(
            f"{type(model).__name__} is not supported: its forward() is custom code (e.g. residual "
            f"connections) that tlcourse.viz cannot walk through"
            + (f"; it contains {', '.join(blocks + found)}" if blocks or found else "")
            + f". Supported: {_SUPPORTED_TEXT}.")
    modules = _flatten(model)
    last = max((i for i, (_, m) in enumerate(modules) if _has_conv(m)), default=-1)
    if last < 0:
        raise UnsupportedModelError(f"{type(model).__name__} has no Conv2d layer to visualise. "
                                    f"Supported: {_SUPPORTED_TEXT}.")
    for name, module in modules[: last + 1]:
        problem = None
        if not isinstance(module, SUPPORTED):
            problem = "residual/custom block" if any(True for _ in module.children()) else "module"
        elif isinstance(module, nn.Conv2d) and (module.padding_mode != "zeros" or isinstance(module.padding, str)):
            problem = "Conv2d with padding_mode/padding other than zeros given as numbers"
        elif isinstance(module, nn.MaxPool2d) and as_pair(module.dilation) != (1, 1):
            problem = "dilated MaxPool2d"
        if problem:
            raise UnsupportedModelError(
                f"unsupported {problem} {type(module).__name__} at '{name}' below the last convolution. "
                f"tlcourse.viz supports {_SUPPORTED_TEXT}; BatchNorm, residual blocks and other "
                f"modules are refused rather than drawn wrongly.")
    convs = tuple(i for i, (_, m) in enumerate(modules) if isinstance(m, nn.Conv2d))
    return ConvStack(tuple(modules), convs)
