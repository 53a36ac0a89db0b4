"""Public tests and observations of lesson 06 (adversarial domain adaptation)."""
from __future__ import annotations

import math

import random

import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe


@exercise("lesson06.grl", hint="Subclass torch.autograd.Function: forward returns x unchanged "
          "(x.view_as(x)), backward returns -lambd * grad_output (and None for lambd).")
def _grl(grad_reverse) -> None:
    x = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.is_tensor(y), f"grad_reverse should return a tensor, got {type(y).__name__}"
    assert y.shape == x.shape, f"the output should keep the input's shape {tuple(x.shape)}, got {tuple(y.shape)}"
    assert torch.allclose(y, x), "forward must be the identity: grad_reverse(x, lambd) should equal x"
    assert y.requires_grad, "the output must stay connected to the graph (do not detach it)"
    w = torch.randn(4, 3, dtype=torch.double)
    for lambd in (0.0, 0.5, 2.0):
        (g,) = torch.autograd.grad((grad_reverse(x, lambd) * w).sum(), x)
        assert torch.allclose(g, -lambd * w), (
            f"with lambd={lambd} the gradient should be -{lambd} times the incoming one")
    # gradcheck: give the layer the forward value its backward claims (-lambda x)
    lambd = 0.7
    f = lambda t: grad_reverse(t, lambd) + (-lambd * t - t).detach()
    assert torch.autograd.gradcheck(f, (x,), raise_exception=False), "torch.autograd.gradcheck failed"


@exercise("lesson06.schedule", hint="2 / (1 + math.exp(-gamma * p)) - 1")
def _schedule(dann_lambda) -> None:
    assert abs(dann_lambda(0.0)) < 1e-9, f"the schedule must start at 0, got {dann_lambda(0.0)}"
    for p in (0.1, 0.5, 1.0):
        want = 2 / (1 + math.exp(-10 * p)) - 1
        got = dann_lambda(p)
        assert abs(got - want) < 1e-6, f"dann_lambda({p}) should be {want:.4f}, got {got}"
    want = 2 / (1 + math.exp(-0.2)) - 1
    assert abs(dann_lambda(0.2, gamma=1.0) - want) < 1e-6, "use the gamma argument instead of a fixed 10"


@exercise("lesson06.domain-loss", hint="F.binary_cross_entropy_with_logits on each domain with "
          "targets 0 (source) and 1 (target), then average the two means.")
def _domain_loss(domain_loss) -> None:
    import torch.nn.functional as F

    zs, zt = torch.tensor([-2.0, 0.5, 1.0]), torch.tensor([3.0, -1.0])
    want = 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.zeros(3))
                  + F.binary_cross_entropy_with_logits(zt, torch.ones(2)))
    got = domain_loss(zs, zt)
    assert torch.is_tensor(got) and got.dim() == 0, "return a 0-d tensor (a scalar loss)"
    flipped = 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.ones(3))
                     + F.binary_cross_entropy_with_logits(zt, torch.zeros(2)))
    assert not torch.isclose(got, flipped), "source is domain 0 and target is domain 1, not the other way round"
    pooled = F.binary_cross_entropy_with_logits(torch.cat([zs, zt]), torch.tensor([0.0, 0, 0, 1, 1]))
    assert torch.isclose(got, want, atol=1e-6), (
        f"expected {want.item():.4f}, got {got.item():.4f}"
        + (" (you pooled both domains; average the two domains' means instead)" if torch.isclose(got, pooled) else ""))
    zs.requires_grad_(True)
    domain_loss(zs, zt).backward()
    assert zs.grad is not None, "the loss must be differentiable with respect to the logits"


# What the grader observes (``tlcourse.grading.observe``): the answers on inputs drawn from the grading seed.

@observe("lesson06.grl", rtol=1e-6, atol=1e-9)
def _(seed, grad_reverse):
    g = torch.Generator().manual_seed(seed)
    lambd = float(torch.rand(1, generator=g)) * 3
    x = torch.randn(2, 1, 5, 4, generator=g, dtype=torch.double, requires_grad=True)
    w = torch.randn(2, 1, 5, 4, generator=g, dtype=torch.double)
    y = grad_reverse(x, lambd)
    (grad,) = torch.autograd.grad((y * w).sum(), x)
    (grad_zero,) = torch.autograd.grad((grad_reverse(x, 0.0) * w).sum(), x)
    return {"forward": y, "keeps the graph": y.requires_grad, "gradient": grad, "gradient at lambda 0": grad_zero}


@observe("lesson06.schedule", rtol=1e-6, atol=1e-9)
def _(seed, dann_lambda):
    rng = random.Random(seed)
    ps = [0.0, 1.0, *(rng.random() for _ in range(5))]
    gamma = rng.uniform(1, 20)
    return {"default gamma": [dann_lambda(p) for p in ps], "other gamma": [dann_lambda(p, gamma=gamma) for p in ps]}


@observe("lesson06.domain-loss", rtol=1e-4, atol=1e-6)
def _(seed, domain_loss):
    g = torch.Generator().manual_seed(seed)
    zs = (torch.randn(int(torch.randint(3, 12, (1,), generator=g)), generator=g) * 3).requires_grad_(True)
    zt = torch.randn(int(torch.randint(3, 12, (1,), generator=g)), generator=g) * 3
    loss = domain_loss(zs, zt)
    (grad,) = torch.autograd.grad(loss, zs)
    big = torch.full((4,), 20.0)
    return {"loss": loss, "gradient": grad, "perfect discriminator": domain_loss(-big, big),
            "chance": domain_loss(torch.zeros(5), torch.zeros(2))}
