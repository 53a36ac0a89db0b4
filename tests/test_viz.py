"""Tests of tlcourse.viz: the deconvnet method pinned on hand-set filters, unpooling against torch,
shapes, determinism, support checks, and the pictures' helpers."""
from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from tlcourse import viz, zoo
from tlcourse.models import CourseNet

@functools.cache
def tv(name: str) -> nn.Module:
    """A torchvision model with random weights (built once: VGG's classifier is slow to initialise)."""
    torch.manual_seed(0)
    return getattr(torchvision.models, name)()


VERTICAL = torch.tensor([[-1.0, 0.0, 1.0]] * 3)      # fires where dark (left) meets bright (right)
HORIZONTAL = VERTICAL.T.clone()


def edge_image() -> torch.Tensor:
    """16x16, a bright rectangle in rows 5..10, columns 10..15: its left edge lies between columns 9 and 10."""
    x = torch.zeros(1, 1, 16, 16)
    x[..., 5:11, 10:] = 1.0
    return x


def edge_net() -> nn.Sequential:
    """conv1: [vertical edge, horizontal edge]; conv2: channel 0 copies conv1's vertical channel."""
    conv1 = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    conv2 = nn.Conv2d(2, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv1.weight.copy_(torch.stack([VERTICAL, HORIZONTAL]).unsqueeze(1))
        conv2.weight.zero_()
        conv2.weight[0, 0, 1, 1] = 1.0
    return nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(2), conv2, nn.ReLU(), nn.MaxPool2d(2))


def placed(filt: torch.Tensor, row: int, col: int, size: int = 16) -> torch.Tensor:
    """A size x size image that is ``filt`` (3x3) centred at (row, col), zero elsewhere."""
    out = torch.zeros(size + 2, size + 2)
    out[row:row + 3, col:col + 3] = filt
    return out[1:-1, 1:-1]


# --- the deconvnet method ----------------------------------------------------------------------

def test_conv1_projection_is_the_edge_filter_at_the_edge():
    x = edge_image()
    proj = viz.project(edge_net(), x, "conv1", channel=0)
    # strongest vertical-edge unit: full 3-row contact with the edge -> value 3, first at (6, 9)
    expected = 3.0 * placed(VERTICAL, 6, 9)
    torch.testing.assert_close(proj[0, 0], expected)
    # in pixel space: negative on the dark side (column 8), positive on the bright side (column 10)
    assert proj[0, 0, 6, 8] < 0 < proj[0, 0, 6, 10]


def test_conv2_projection_goes_through_the_switch_to_the_edge():
    x = edge_image()
    net = edge_net()
    act, steps = viz.forward_with_switches(net, x, "conv2")
    proj = viz.project(net, x, "conv2", channel=0)
    assert proj.shape == x.shape
    nonzero = proj[0, 0].nonzero()
    rows, cols = nonzero[:, 0], nonzero[:, 1]
    # a single vertical-edge filter, 3 columns wide, straddling the edge between columns 9 and 10
    assert cols.max() - cols.min() == 2 and cols.min() + 1 in (9, 10)
    assert 5 <= rows.min() and rows.max() <= 10
    centre_row, centre_col = int(rows.min()) + 1, int(cols.min()) + 1
    # it sits exactly where pool1 recorded the maximum of conv1's vertical channel
    conv1_act = torch.relu(net[0](x))[0, 0]
    switch = steps[2].switches[0, 0].flatten()
    assert centre_row * 16 + centre_col in switch.tolist()
    expected = conv1_act[centre_row, centre_col] * placed(VERTICAL, centre_row, centre_col)
    torch.testing.assert_close(proj[0, 0], act.max() / conv1_act.max() * expected)


def test_projection_equals_gradient_when_there_is_no_relu():
    # Without ReLUs the deconvnet is the transpose of a linear map: value x gradient, exactly.
    torch.manual_seed(0)
    alex = tv("alexnet").features           # 11x11 stride-4 conv, overlapping 3x3 pools
    linear = nn.Sequential(*[m for m in alex if not isinstance(m, nn.ReLU)])
    x = torch.rand(1, 3, 100, 100, requires_grad=True)
    act = viz.conv_stack(linear).run(x, "conv3")
    pos = (1, 2)
    (grad,) = torch.autograd.grad(act[0, 4, pos[0], pos[1]], x)
    proj = viz.project(linear, x.detach(), "conv3", channel=4, position=pos)
    assert proj.shape == x.shape
    torch.testing.assert_close(proj, act[0, 4, pos[0], pos[1]].detach() * grad, rtol=1e-4, atol=1e-6)


def _times_gradient(model, x, layer, channel):
    """a * da/dx, by autograd, for each image's strongest activation a of ``channel``."""
    x = x.clone().requires_grad_(True)
    a = viz.conv_stack(model).run(x, layer)[:, channel].flatten(1).amax(1)
    (grad,) = torch.autograd.grad(a.sum(), x)
    return a.detach().view(-1, 1, 1, 1) * grad


class GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward keeps a gradient only where both the input and the gradient are positive."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z.clamp_min(0)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g.clamp_min(0) * (z > 0)


class Guided(nn.Module):
    def forward(self, z):
        return GuidedReLU.apply(z)


def test_gradient_rule_is_backprop_on_a_network_with_relus():
    net = zoo.load_pretrained()
    torch.manual_seed(0)
    x = torch.rand(6, 1, 28, 28)
    for layer, channel in [("conv2", 3), ("conv3", 10)]:
        proj = viz.project(net, x, layer, channel, rule="gradient")
        torch.testing.assert_close(proj, _times_gradient(net, x, layer, channel), rtol=1e-4, atol=1e-5)
        # the deconvnet's ReLU rule is not backprop's: on this network its picture differs clearly
        deconv = viz.project(net, x, layer, channel)
        assert (deconv - proj).norm() > 0.05 * proj.norm(), layer


def test_guided_rule_is_backprop_through_guided_relus():
    net = zoo.load_pretrained()
    torch.manual_seed(1)
    x = torch.rand(4, 1, 28, 28)
    stack = viz.conv_stack(net)
    guided = nn.Sequential(*[Guided() if isinstance(m, nn.ReLU) else m for _, m in stack.modules])
    proj = viz.project(net, x, "conv3", 7, rule="guided")
    x_ = x.clone().requires_grad_(True)
    a = viz.conv_stack(net).run(x, "conv3")[:, 7].flatten(1).amax(1)
    out = guided[:stack.end("conv3")](x_)[:, 7].flatten(1).amax(1)
    (grad,) = torch.autograd.grad(out.sum(), x_)
    torch.testing.assert_close(proj, a.view(-1, 1, 1, 1) * grad, rtol=1e-4, atol=1e-5)


def test_the_three_rules_agree_without_relus_and_unknown_rules_are_refused():
    torch.manual_seed(0)
    linear = nn.Sequential(*[m for m in CourseNet(5) if not isinstance(m, nn.ReLU)][:5])   # conv pool conv pool conv
    x = torch.rand(3, 1, 28, 28)
    pictures = [viz.project(linear, x, "conv3", 2, rule=rule) for rule in ("deconvnet", "gradient", "guided")]
    assert torch.equal(pictures[0], pictures[1]) and torch.equal(pictures[1], pictures[2])
    with pytest.raises(ValueError, match="'deconvnet', 'gradient', 'guided'"):
        viz.project(linear, x, "conv3", 2, rule="saliency")


@pytest.mark.parametrize("name, shape", [
    ("CourseNet", (2, 1, 28, 28)),
    ("vgg11", (1, 3, 64, 64)),
    ("alexnet", (1, 3, 100, 100)),        # whole torchvision models: their .features are used
])
def test_projection_has_input_shape_on_supported_networks(name, shape):
    model = CourseNet(5) if name == "CourseNet" else tv(name)
    torch.manual_seed(0)
    x = torch.rand(shape)
    stack = viz.conv_stack(model)
    for layer in stack.layer_names[:3]:
        proj = viz.project(model, x, layer, channel=1)
        assert proj.shape == x.shape, layer
        assert torch.isfinite(proj).all()


def test_projection_is_deterministic():
    torch.manual_seed(0)
    net, x = CourseNet(5), torch.rand(4, 1, 28, 28)
    a = viz.project(net, x, "conv3", channel=[0, 1, 2, 3])
    b = viz.project(net, x, "conv3", channel=[0, 1, 2, 3])
    assert torch.equal(a, b)


def test_projection_rejects_bad_channel_and_position():
    net, x = CourseNet(5), torch.rand(1, 1, 28, 28)
    with pytest.raises(ValueError, match="has 16 channels"):
        viz.project(net, x, "conv1", channel=16)
    with pytest.raises(ValueError, match="position"):
        viz.project(net, x, "conv2", channel=0, position=(14, 0))


# --- unpooling ---------------------------------------------------------------------------------

def test_unpool_hand_computed_example():
    x = torch.tensor([[1., 5., 2., 0.],
                      [3., 4., 8., 1.],
                      [0., 2., 1., 1.],
                      [7., 1., 0., 6.]]).view(1, 1, 4, 4)
    pooled, switches = F.max_pool2d(x, 2, return_indices=True)
    assert switches.flatten().tolist() == [1, 6, 12, 15]
    expected = torch.tensor([[0., 5., 0., 0.],
                             [0., 0., 8., 0.],
                             [0., 0., 0., 0.],
                             [7., 0., 0., 6.]]).view(1, 1, 4, 4)
    assert torch.equal(viz.unpool(pooled, switches, (4, 4)), expected)


def test_unpool_matches_torch_max_unpool2d_without_overlap():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 14, 14)
    pooled, switches = F.max_pool2d(x, 2, return_indices=True)
    ours = viz.unpool(pooled, switches, (14, 14))
    assert torch.equal(ours, F.max_unpool2d(pooled, switches, 2, output_size=(14, 14)))
    # values land exactly on the switches, zeros everywhere else
    assert torch.equal(ours.flatten(2).gather(2, switches.flatten(2)), pooled.flatten(2))
    assert int((ours != 0).sum()) == pooled.numel()


def test_unpool_adds_where_overlapping_windows_share_a_switch():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 13, 13, requires_grad=True)
    pooled, switches = F.max_pool2d(x, 3, 2, return_indices=True)
    g = torch.randn_like(pooled)
    (grad,) = torch.autograd.grad((pooled * g).sum(), x)   # max-pool's transpose applied to g
    torch.testing.assert_close(viz.unpool(g, switches, (13, 13)), grad)


# --- supported and unsupported networks -------------------------------------------------------

def test_layer_names_and_receptive_fields():
    net = viz.conv_stack(CourseNet(5))
    assert net.layer_names == ["conv1", "conv2", "conv3"]
    assert [net.receptive_field_size(layer) for layer in net.layer_names] == [(3, 3), (8, 8), (18, 18)]
    vgg = viz.conv_stack(tv("vgg11").features)
    assert vgg.layer_names == [f"conv{i}" for i in range(1, 9)]
    assert vgg.name("3") == "conv2" and vgg.receptive_field_size("conv2") == (8, 8)
    with pytest.raises(KeyError, match="conv1"):
        net.conv_index("fc1")


@pytest.mark.parametrize("model, culprit", [
    (torchvision.models.resnet18(), "BasicBlock"),
    (nn.Sequential(*torchvision.models.resnet18().children()), "BatchNorm2d"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3)), "BatchNorm2d"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.LeakyReLU(), nn.Conv2d(4, 4, 3)), "LeakyReLU"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.AvgPool2d(2), nn.Conv2d(4, 4, 3)), "AvgPool2d"),
    (nn.Sequential(nn.Linear(3, 3)), "no Conv2d"),
])
def test_unsupported_models_get_a_clear_message(model, culprit):
    with pytest.raises(viz.UnsupportedModelError) as err:
        viz.project(model, torch.rand(1, 3, 32, 32), "conv1", channel=0)
    message = str(err.value)
    assert culprit in message
    assert "Conv2d, ReLU and MaxPool2d" in message and "alexnet" in message


def test_modules_after_the_last_conv_are_ignored():
    # CourseNet's classifier and VGG's avgpool/classifier play no part in the pictures
    viz.conv_stack(CourseNet(3))
    viz.conv_stack(nn.Sequential(*tv("vgg11").children()))


# --- top activations ---------------------------------------------------------------------------

def test_top_activations_match_brute_force_and_crop_the_receptive_field():
    torch.manual_seed(0)
    net = CourseNet(5)
    x = torch.rand(300, 1, 28, 28)
    top = viz.top_activations(net, x, "conv2", channels=[3, 7], k=5, batch_size=64)
    maps = viz.conv_stack(net).run(x, "conv2")[:, [3, 7]].flatten(2).amax(2)   # (N, 2)
    expected = maps.T.sort(dim=1, descending=True)
    torch.testing.assert_close(top.values, expected.values[:, :5])
    assert torch.equal(top.indices, expected.indices[:, :5])
    assert top.crop().shape == (2, 5, 1, 8, 8)
    # an inside unit's crop is exactly its 8x8 input window
    c, r = torch.nonzero((top.boxes[..., 0] >= 0) & (top.boxes[..., 1] >= 0)
                         & (top.boxes[..., 2] <= 28) & (top.boxes[..., 3] <= 28))[0].tolist()
    t, left, b, right = top.boxes[c, r].tolist()
    assert torch.equal(top.crop()[c, r], x[top.indices[c, r], :, t:b, left:right])


def test_top_activation_of_the_edge_filter_is_the_image_with_the_edge():
    x = torch.zeros(10, 1, 16, 16)
    x[7] = edge_image()[0]
    x[3, :, :, 12:] = 0.5                                   # a weaker edge
    top = viz.top_activations(edge_net(), x, "conv1", channels=[0], k=2)
    assert top.indices[0].tolist() == [7, 3]
    assert top.values[0].tolist() == [3.0, 1.5]
    crop = top.crop()[0, 0, 0]                              # 3x3, dark left, bright right
    assert crop[:, 0].sum() == 0 and crop[:, 2].sum() == 3


def test_project_top_is_cropped_like_the_inputs():
    torch.manual_seed(0)
    net, x = CourseNet(5), torch.rand(50, 1, 28, 28)
    top = viz.top_activations(net, x, "conv3", channels=[0, 1, 2], k=4)
    proj = viz.project_top(net, top)
    assert proj.shape == top.crop().shape == (3, 4, 1, 18, 18)
    assert torch.equal(proj, viz.project_top(net, top))


def test_top_activations_bad_arguments():
    net, x = CourseNet(5), torch.rand(5, 1, 28, 28)
    with pytest.raises(ValueError, match="0..15"):
        viz.top_activations(net, x, "conv1", channels=[16])
    with pytest.raises(ValueError, match="k must"):
        viz.top_activations(net, x, "conv1", k=6)


# --- activation maximization -------------------------------------------------------------------

def test_activation_maximization_finds_the_edge_and_is_seeded():
    net = edge_net()
    img = viz.activation_maximization(net, "conv1", [0], size=16, unit="center", steps=64, seed=1)
    assert img.shape == (1, 1, 16, 16) and 0 <= img.min() and img.max() <= 1
    patch = img[0, 0, 7:10, 7:10]                            # the centre unit's receptive field
    assert patch[:, 2].mean() - patch[:, 0].mean() > 0.5     # bright right, dark left
    again = viz.activation_maximization(net, "conv1", [0], size=16, unit="center", steps=64, seed=1)
    assert torch.equal(img, again)
    other = viz.activation_maximization(net, "conv1", [0], size=16, unit="center", steps=64, seed=2)
    assert not torch.equal(img, other)


def test_activation_maximization_raises_the_objective():
    torch.manual_seed(0)
    net = CourseNet(5)
    imgs = viz.activation_maximization(net, "conv3", [0, 5], steps=48)
    start = torch.full((2, 1, 28, 28), 0.5)
    with torch.no_grad():
        objective = [net[:7](x)[[0, 1], [0, 5]].mean((1, 2)) for x in (start, imgs)]  # conv3, before ReLU
    assert (objective[1] > objective[0]).all()


# --- filters, comparison, plots ----------------------------------------------------------------

def test_filters_and_their_figure():
    net = edge_net()
    assert torch.equal(viz.filter_images(net, "conv1")[:, 0], torch.stack([VERTICAL, HORIZONTAL]))
    fig = viz.show_filters(net)
    assert "conv1" in fig._suptitle.get_text()
    assert all(not ax.get_xticks().size and not ax.get_yticks().size for ax in fig.axes)   # images, not charts
    with pytest.raises(ValueError, match="not pictures"):
        viz.filter_images(CourseNet(5), "conv2")
    assert viz.filter_images(tv("alexnet"), "conv1").shape == (64, 3, 11, 11)


def test_weight_change_and_activation_similarity():
    torch.manual_seed(0)
    before = CourseNet(5)
    after = CourseNet(7)
    after.load_state_dict({k: v for k, v in before.state_dict().items() if not k.startswith("fc3")}, strict=False)
    with torch.no_grad():
        after.conv3.weight.mul_(1.5), after.conv3.bias.mul_(1.5)
    change = viz.weight_change(before, after)
    assert list(change) == ["conv1", "conv2", "conv3", "fc1", "fc2"]      # fc3 was replaced
    assert change["conv1"] == 0 and change["conv3"] == pytest.approx(0.5)
    sim = viz.activation_similarity(before, after, torch.rand(20, 1, 28, 28))
    assert sim["conv1"] == pytest.approx(1, abs=1e-5) and sim["conv2"] == pytest.approx(1, abs=1e-5)
    assert sim["conv3"] == pytest.approx(1, abs=1e-5)                       # scaling keeps correlation


def test_compare_and_top_figures_have_layer_titles():
    torch.manual_seed(0)
    a, b = CourseNet(5), CourseNet(5)
    x = torch.rand(40, 1, 28, 28)
    fig = viz.compare_channels(a, b, x, "conv2", [0, 1], k=4)
    assert "conv2" in fig._suptitle.get_text()
    assert fig.axes[0].get_ylabel() == "conv2 ch 0" and "before" in fig.axes[0].get_title()
    top = viz.top_activations(a, x, "conv1", [2, 3], k=4)
    fig = viz.show_top_activations(top, viz.project_top(a, top))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["conv1 ch 2", "conv1 ch 3"]


# --- lesson 05 exercises: the public checks accept the solutions and explain wrong answers -------

def _raise(*args):
    raise NotImplementedError()


def walk(top, steps, relu="deconvnet", pool="switches"):
    """The deconvnet's way back, or one of the bugs of exercise 5.3."""
    y = top
    for step in reversed(steps):
        if isinstance(step.module, nn.MaxPool2d):
            y = viz.unpool(y, step.switches, step.input_size) if pool == "switches" else \
                F.interpolate(y, size=step.input_size)
        elif isinstance(step.module, nn.ReLU):
            y = {"deconvnet": torch.relu(y), "mask": y * step.mask, "none": y}[relu]
        elif isinstance(step.module, nn.Conv2d):
            y = F.conv_transpose2d(y, step.module.weight, padding=step.module.padding)
    return y


def deconvnet_walk(top, steps):
    return walk(top, steps)


def test_lesson05_checks_accept_solutions():
    from tlcourse.grading import check

    assert check("lesson05.unpool", viz.unpool)
    assert check("lesson05.edge_filter", lambda: VERTICAL.T.flip(0).clone())
    assert check("lesson05.walk_back", deconvnet_walk)


@pytest.mark.parametrize("exercise, answer, words", [
    ("lesson05.unpool", lambda p, s, size: torch.zeros(1, 1, *size), "where it came from"),
    ("lesson05.unpool", lambda p, s, size: F.max_unpool2d(p, s, 2)[:1], "batch and channel"),
    ("lesson05.edge_filter", lambda: VERTICAL.T.flip(0) - VERTICAL, "vertical edge"),   # also fires on |
    ("lesson05.edge_filter", lambda: torch.ones(3, 3), "flat image"),
    ("lesson05.edge_filter", lambda: -VERTICAL.T.flip(0), "does not respond"),
    ("lesson05.walk_back", lambda top, steps: walk(top, steps, relu="mask"), "backpropagation's rule"),
    ("lesson05.walk_back", lambda top, steps: walk(top, steps, pool="nearest"), "its switch"),
    ("lesson05.walk_back", lambda top, steps: walk(top, steps, relu="none"), "ReLU step"),
    ("lesson05.walk_back", lambda top, steps: walk(top, steps)[..., 1:], "pixel space"),
    ("lesson05.walk_back", _raise, "not done yet"),
])
def test_lesson05_checks_explain_wrong_answers(exercise, answer, words):
    from tlcourse.grading import CheckFailed, check

    with pytest.raises(CheckFailed, match=words):
        check(exercise, answer)


def test_lesson05_walk_back_is_judged_on_fresh_inputs_and_catches_each_bug():
    import json

    import tlcourse.exercises.lesson05  # noqa: F401  (registers the observations)
    from tlcourse.grading import judge
    from tlcourse.grading.observe import encode, exercise_seed, lookup
    from tlcourse.grading.spec import GradedCell

    def observed(answer, seed):
        values = lookup("lesson05.walk_back").fn(exercise_seed(seed, "lesson05.walk_back"), answer)
        return judge.read_output(json.dumps({"values": encode(values)}).encode())

    test = GradedCell("t", "test", "", "code", 2.0, ("lesson05.walk_back", "walk_back"))
    reference = observed(deconvnet_walk, 7)["values"]
    assert judge.verdict(test, observed(deconvnet_walk, 7), reference, "missing")[0]
    for bug in (dict(relu="mask"), dict(pool="nearest"), dict(relu="none")):
        assert not judge.verdict(test, observed(lambda top, steps: walk(top, steps, **bug), 7), reference,
                                 "missing")[0], bug
    # the inputs are drawn from the run's seed: another run's reference is another set of pictures
    assert not judge.verdict(test, observed(deconvnet_walk, 8), reference, "missing")[0]
