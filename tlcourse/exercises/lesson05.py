"""Public tests and observations of lesson 05 (what the layers learned): unpooling, a hand-made filter, and
finding the bugs of a deconvnet walk."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import Message, tr
from tlcourse.viz.deconvnet import forward_with_switches, project_down


@exercise("lesson05.unpool", hint="Start from zeros of shape (N, C, H*W), put each pooled value at its "
          "flat index with scatter_add_ along the last dimension, then reshape to (N, C, H, W).")
def _(unpool):
    x = torch.tensor([[1., 5., 2., 0.],
                      [3., 4., 8., 1.],
                      [0., 2., 1., 1.],
                      [7., 1., 0., 6.]]).view(1, 1, 4, 4)
    pooled, switches = F.max_pool2d(x, 2, return_indices=True)
    got = unpool(pooled, switches, (4, 4))
    assert isinstance(got, torch.Tensor), tr("return a tensor, not {type}", type=type(got).__name__)
    assert got.shape == (1, 1, 4, 4), tr("the 4x4 example should give shape (1, 1, 4, 4), got {shape}",
                                         shape=tuple(got.shape))
    want = torch.tensor([[0., 5., 0., 0.], [0., 0., 8., 0.], [0., 0., 0., 0.], [7., 0., 0., 6.]]).view(1, 1, 4, 4)
    assert torch.equal(got, want), tr("on the 4x4 example from the lesson, expected\n{want}\ngot\n{got}\n"
                                      "each maximum must go back where it came from, zeros elsewhere",
                                      want=want[0, 0], got=got[0, 0])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 8, generator=g)
    pooled, switches = F.max_pool2d(x, 2, return_indices=True)
    got = unpool(pooled, switches, (6, 8))
    assert got.shape == (2, 3, 6, 8), tr("a (2, 3, 3, 4) input with output_size (6, 8) should give (2, 3, 6, 8), "
                                         "got {shape}: keep the batch and channel dimensions", shape=tuple(got.shape))
    assert torch.equal(got, F.max_unpool2d(pooled, switches, 2, output_size=(6, 8))), \
        tr("on a random batch your result differs from torch's F.max_unpool2d")


@exercise("lesson05.edge_filter", hint="Positive weights where the ink should be (top row), negative where the "
          "background should be (bottom row), and weights that sum to 0 so a flat patch gives 0.")
def _(edge_filter):
    filt = edge_filter()
    assert isinstance(filt, torch.Tensor), tr("give a torch tensor, not {type}", type=type(filt).__name__)
    assert filt.shape == (3, 3), tr("a conv1 filter of the course network is 3x3, got shape {shape}",
                                    shape=tuple(filt.shape))
    filt = filt.float()
    assert abs(float(filt.sum())) < 1e-4, \
        tr("your weights sum to {total:.3f}: a flat image (all ink or all background) must give 0",
           total=float(filt.sum()))
    images = torch.zeros(4, 1, 12, 12)
    images[0, :, :6] = 1      # ink above, background below: the edge to detect
    images[1, :, 6:] = 1      # background above, ink below
    images[2, :, :, :6] = 1   # a vertical edge
    images[3] = 0.5           # flat grey
    response = F.relu(F.conv2d(images, filt.view(1, 1, 3, 3))).amax((1, 2, 3))
    best = float(response[0])
    assert best > 0, tr("your filter does not respond at all to ink above background")
    for i, what in [(1, tr("background above ink")), (2, tr("a vertical edge"))]:
        assert float(response[i]) < 0.5 * best, tr("your filter responds to {what} ({response:.2f}) "
                                                   "almost as much as to ink above background ({best:.2f})",
                                                   what=what, response=float(response[i]), best=best)


def walk_case(seed: int, relu: bool = True, pool: bool = True, size: tuple[int, int] | None = None):
    """A random conv stack (3x3 convs, optional ReLUs and 2x2 max-pools), random images, and the top of a
    deconvnet walk: one activation of one channel of its last conv layer per image, everything else zero."""
    g = torch.Generator().manual_seed(seed)
    widths = [1] + torch.randint(2, 6, (3,), generator=g).tolist()
    modules = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        modules.append(nn.Conv2d(a, b, 3, padding=1))
        modules += [nn.ReLU()] if relu else []
        modules += [nn.MaxPool2d(2)] if pool and i < 2 else []
    net = nn.Sequential(*modules)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    h, w = size or torch.randint(10, 20, (2,), generator=g).tolist()
    x = torch.rand(3, 1, h, w, generator=g)
    with torch.no_grad():
        act, steps = forward_with_switches(net, x, f"conv{len(widths) - 1}")
    alive = (act.amax((0, 2, 3)) > 0).nonzero().flatten()            # a channel that fires somewhere
    alive = alive if len(alive) else torch.arange(act.shape[1])
    channel = int(alive[torch.randint(0, len(alive), (1,), generator=g)])
    flat = act[:, channel].flatten(1).argmax(1)
    idx, rows, cols = torch.arange(len(x)), flat // act.shape[3], flat % act.shape[3]
    top = torch.zeros_like(act)
    top[idx, channel, rows, cols] = act[idx, channel, rows, cols]
    return top, steps


@exercise("lesson05.walk_back", hint="Compare each branch with the lesson's table: max-pool is undone with "
          "the switches recorded on the way up (viz.unpool or your unpool), and the deconvnet's ReLU acts on "
          "the signal coming down, not on the forward pass's mask.")
def _(walk_back):
    cases = [(tr("a stack of convs and ReLUs (no max-pool)"), dict(relu=True, pool=False),
              tr("the ReLU step: the deconvnet keeps the positive part of the signal coming down (relu of it); "
                 "multiplying by the forward pass's mask is backpropagation's rule, the gradient")),
             (tr("a stack of convs and max-pools (no ReLU)"), dict(relu=False, pool=True),
              tr("the unpooling step: each value goes back to its switch (the position of its maximum on the "
                 "way up), zeros elsewhere")),
             (tr("convs, ReLUs and max-pools"), dict(relu=True, pool=True), "")]
    for seed, (what, options, fix) in enumerate(cases):
        top, steps = walk_case(seed, **options)
        with torch.no_grad():
            got = walk_back(top, steps)
            want = project_down(top, steps)
        assert isinstance(got, torch.Tensor), tr("return a tensor, not {type}", type=type(got).__name__)
        assert got.shape == want.shape, tr("on {what} the walk should end in pixel space, shape {want}, got {got}",
                                           what=what, want=tuple(want.shape), got=tuple(got.shape))
        if not torch.allclose(got, want, rtol=1e-4, atol=1e-5):
            if not options["pool"] and torch.allclose(got, project_down(top, steps, "gradient"), rtol=1e-4, atol=1e-5):
                fix = tr("the ReLU step: multiplying by the forward mask is backpropagation's rule, so you "
                         "computed the gradient, not the deconvnet")
            raise AssertionError(tr("on {what} your walk differs from the deconvnet", what=what)
                                 + (tr("; check {fix}", fix=fix) if fix else ""))


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

@observe("lesson05.unpool", rtol=1e-6)
def _(seed, unpool):
    g = torch.Generator().manual_seed(seed)
    n, c = torch.randint(1, 4, (2,), generator=g).tolist()
    h, w = torch.randint(5, 14, (2,), generator=g).tolist()
    x = torch.randn(n, c, h, w, generator=g)
    out = {}
    for name, window in [("2x2 windows", dict(kernel_size=2, ceil_mode=True)),
                         ("overlapping windows", dict(kernel_size=3, stride=2))]:
        pooled, switches = F.max_pool2d(x, return_indices=True, **window)
        out[name] = unpool(pooled, switches, (h, w))
    return out


def _edge_rule(mine: dict, ref: dict) -> Message | None:
    f = np.asarray(mine["filter"], dtype=float)
    if f.shape != (3, 3):
        return Message("give a 3x3 filter")
    if abs(f.sum()) > 1e-4:
        return Message("your weights do not sum to 0: a flat image must give 0")
    images = np.zeros((3, 12, 12))
    images[0, :6], images[1, 6:], images[2, :, :6] = 1, 1, 1  # ink above background, below it, a vertical edge
    windows = np.lib.stride_tricks.sliding_window_view(images, (3, 3), axis=(1, 2))
    response = np.maximum((windows * f).sum((-1, -2)), 0).max((1, 2))
    if not response[0] > 0:
        return Message("your filter does not respond to ink above background")
    if max(response[1], response[2]) >= 0.5 * response[0]:
        return Message("your filter responds to other edges almost as much as to ink above "
                       "background")
    return None


@observe("lesson05.edge_filter", rule=_edge_rule)
def _(seed, edge_filter):
    return {"filter": edge_filter()}


@observe("lesson05.walk_back", rtol=1e-4, atol=1e-5)
def _(seed, walk_back):
    out = {}
    for name, options in [("convs, ReLUs, max-pools", {}), ("no ReLU", dict(relu=False)),
                          ("odd sizes", dict(size=(15, 13)))]:
        top, steps = walk_case(seed, **options)
        with torch.no_grad():
            out[name] = walk_back(top, steps)
    return out
