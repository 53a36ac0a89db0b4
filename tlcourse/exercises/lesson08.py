"""Public tests and observations of lesson 08 (a real backbone: choose a source, then adapt it)."""
from __future__ import annotations

import torch
from torch import nn

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import tr


def _reference(x, weight, bias, lora_a, lora_b, alpha) -> torch.Tensor:
    """peft's LoRA layer around ``nn.Linear(weight, bias)`` with the factors ``lora_a``, ``lora_b``."""
    from peft import LoraConfig, inject_adapter_in_model

    base = nn.Linear(weight.shape[1], weight.shape[0], dtype=weight.dtype)
    model = nn.Sequential()
    model.add_module("layer", base)
    with torch.no_grad():
        base.weight.copy_(weight)
        base.bias.copy_(bias)
    inject_adapter_in_model(LoraConfig(r=lora_a.shape[0], lora_alpha=alpha, target_modules=["layer"]), model)
    with torch.no_grad():
        model.layer.lora_A["default"].weight.copy_(lora_a)
        model.layer.lora_B["default"].weight.copy_(lora_b)
        return model(x)


def _lora_inputs(g: torch.Generator, n_in: int, n_out: int, rank: int):
    return (torch.randn(5, n_in, generator=g, dtype=torch.double),
            torch.randn(n_out, n_in, generator=g, dtype=torch.double),
            torch.randn(n_out, generator=g, dtype=torch.double),
            torch.randn(rank, n_in, generator=g, dtype=torch.double),
            torch.randn(n_out, rank, generator=g, dtype=torch.double))


@exercise("lesson08.lora", hint="x @ weight.T + bias is the frozen layer; add (alpha / r) * x @ lora_a.T @ lora_b.T, "
          "with r = lora_a.shape[0].")
def _lora(lora_linear) -> None:
    x, w, b, a, bb = _lora_inputs(torch.Generator().manual_seed(0), 6, 4, 2)
    got = lora_linear(x, w, b, a, torch.zeros_like(bb), 8)
    assert torch.is_tensor(got) and got.shape == (5, 4), tr("expected a (5, 4) tensor, got {got}",
                                                            got=getattr(got, "shape", got))
    assert torch.allclose(got, x @ w.T + b), tr("with lora_b = 0 the layer must be exactly the frozen layer x W^T + b")
    want = _reference(x, w, b, a, bb, 8)
    got = lora_linear(x, w, b, a, bb, 8)
    assert not torch.allclose(got, x @ w.T + b + x @ a.T @ bb.T), tr(
        "scale the low-rank update by alpha / r (here 8 / 2 = 4)")
    assert torch.allclose(got, want, atol=1e-8), tr("the output differs from peft's LoRA layer with the same factors")
    x, w, b, a, bb = _lora_inputs(torch.Generator().manual_seed(1), 3, 7, 3)
    assert torch.allclose(lora_linear(x, w, b, a, bb, 6), _reference(x, w, b, a, bb, 6), atol=1e-8), (
        tr("wrong for rank 3 and alpha 6: take r from lora_a.shape[0]"))


@observe("lesson08.lora", rtol=1e-6, atol=1e-8)
def _(seed, lora_linear):
    g = torch.Generator().manual_seed(seed)
    n_in, n_out, rank = (int(v) for v in torch.randint(1, 9, (3,), generator=g))
    alpha = int(torch.randint(1, 17, (1,), generator=g))
    x, w, b, a, bb = _lora_inputs(g, n_in, n_out, rank)
    return {"output": lora_linear(x, w, b, a, bb, alpha),
            "with lora_b = 0": lora_linear(x, w, b, a, torch.zeros_like(bb), alpha)}


@exercise("lesson08.preprocess", hint="Resize to 96 x 96 (F.interpolate, bilinear, antialias=True), repeat the grey "
          "channel three times (expand or repeat), then map [0, 1] to [-1, 1] with 2 * x - 1.")
def _preprocess(to_backbone) -> None:
    from tlcourse.backbone_transfer import LESSON_INPUT

    x = torch.rand(3, 1, 7, 7)
    x = torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)  # smooth images
    got = to_backbone(x)
    assert torch.is_tensor(got) and got.shape == (3, 3, 96, 96), (
        tr("expected shape (3, 3, 96, 96): 3 colour channels at 96 x 96, got {shape}",
           shape=tuple(getattr(got, "shape", ()))))
    assert torch.equal(got[:, 0], got[:, 1]) and torch.equal(got[:, 1], got[:, 2]), (
        tr("a grey image becomes colour by repeating its one channel: the three channels must be equal"))
    for value, want in ((0.0, -1.0), (1.0, 1.0), (0.5, 0.0)):
        out = to_backbone(torch.full((1, 1, 28, 28), value))
        assert torch.allclose(out, torch.full_like(out, want), atol=1e-5), (
            tr("a pixel of {value} should become {want}: the network expects [-1, 1], not [0, 1]",
               value=value, want=want))
    assert (got - LESSON_INPUT(x)).abs().mean() < 0.02, tr("resize the whole image to 96 x 96 (no crop, no padding)")


@observe("lesson08.preprocess", rtol=0.0, atol=0.05)
def _(seed, to_backbone):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(torch.rand(2, 1, 7, 7, generator=g), size=(28, 28), mode="bilinear",
                                        align_corners=False)
    level = float(torch.rand(1, generator=g))
    out = to_backbone(x)
    return {"shape": list(out.shape), "channel means": out.mean((2, 3)),
            "constant image": to_backbone(torch.full((1, 1, 28, 28), level)).mean().item()}
