"""Public tests and observations of lesson 06 (adversarial domain adaptation)."""
from __future__ import annotations

import math

import random

import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import tr


@exercise("lesson06.grl", hint="Subclass torch.autograd.Function: forward returns x unchanged "
          "(x.view_as(x)), backward returns -lambd * grad_output (and None for lambd).")
def _grl(grad_reverse) -> None:
    x = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.is_tensor(y), tr("grad_reverse should return a tensor, got {type}", type=type(y).__name__)
    assert y.shape == x.shape, tr("the output should keep the input's shape {want}, got {got}",
                                  want=tuple(x.shape), got=tuple(y.shape))
    assert torch.allclose(y, x), tr("forward must be the identity: grad_reverse(x, lambd) should equal x")
    assert y.requires_grad, tr("the output must stay connected to the graph (do not detach it)")
    w = torch.randn(4, 3, dtype=torch.double)
    for lambd in (0.0, 0.5, 2.0):
        (g,) = torch.autograd.grad((grad_reverse(x, lambd) * w).sum(), x)
        assert torch.allclose(g, -lambd * w), (
            tr("with lambd={lambd} the gradient should be -{lambd} times the incoming one", lambd=lambd))
    # gradcheck: give the layer the forward value its backward claims (-lambda x)
    lambd = 0.7
    f = lambda t: grad_reverse(t, lambd) + (-lambd * t - t).detach()
    assert torch.autograd.gradcheck(f, (x,), raise_exception=False), tr("torch.autograd.gradcheck failed")


@exercise("lesson06.schedule", hint="2 / (1 + math.exp(-gamma * p)) - 1")
def _schedule(dann_lambda) -> None:
    assert abs(dann_lambda(0.0)) < 1e-9, tr("the schedule must start at 0, got {got}", got=dann_lambda(0.0))
    for p in (0.1, 0.5, 1.0):
        want = 2 / (1 + math.exp(-10 * p)) - 1
        got = dann_lambda(p)
        assert abs(got - want) < 1e-6, tr("dann_lambda({p}) should be {want:.4f}, got {got}", p=p, want=want, got=got)
    want = 2 / (1 + math.exp(-0.2)) - 1
    assert abs(dann_lambda(0.2, gamma=1.0) - want) < 1e-6, tr("use the gamma argument instead of a fixed 10")


@exercise("lesson06.domain-loss", hint="F.binary_cross_entropy_with_logits on each domain with "
          "targets 0 (source) and 1 (target), then average the two means.")
def _domain_loss(domain_loss) -> None:
    import torch.nn.functional as F

    zs, zt = torch.tensor([-2.0, 0.5, 1.0]), torch.tensor([3.0, -1.0])
    want = 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.zeros(3))
                  + F.binary_cross_entropy_with_logits(zt, torch.ones(2)))
    got = domain_loss(zs, zt)
    assert torch.is_tensor(got) and got.dim() == 0, tr("return a 0-d tensor (a scalar loss)")
    flipped = 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.ones(3))
                     + F.binary_cross_entropy_with_logits(zt, torch.zeros(2)))
    assert not torch.isclose(got, flipped), tr("source is domain 0 and target is domain 1, not the other way round")
    pooled = F.binary_cross_entropy_with_logits(torch.cat([zs, zt]), torch.tensor([0.0, 0, 0, 1, 1]))
    assert torch.isclose(got, want, atol=1e-6), (
        tr("expected {want:.4f}, got {got:.4f}", want=want.item(), got=got.item())
        + (tr(" (you pooled both domains; average the two domains' means instead)") if torch.isclose(got, pooled)
           else ""))
    zs.requires_grad_(True)
    domain_loss(zs, zt).backward()
    assert zs.grad is not None, tr("the loss must be differentiable with respect to the logits")


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


# ---- Exercise 4: the DANN training step, assembled from the three parts above -----------------------------

def _setup(seed: int, n_source: int = 8, n_target: int = 6):
    """A fresh AdaptNet, a small discriminator, one SGD optimiser over both, and random batches, from ``seed``."""
    from tlcourse.adapt import AdaptNet, DomainDiscriminator

    torch.manual_seed(seed)
    model = AdaptNet(10)
    discriminator = DomainDiscriminator(model.feature_dim, hidden=32)
    optimizer = torch.optim.SGD([*model.parameters(), *discriminator.parameters()], lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    x_s, x_t = torch.rand(n_source, 1, 28, 28, generator=g), torch.rand(n_target, 1, 28, 28, generator=g)
    y_s = torch.randint(0, 10, (n_source,), generator=g)
    return model, discriminator, optimizer, x_s, y_s, x_t


def _library_step(weight_of=None):
    """The step of ``tlcourse.adapt.adapt`` for DANN, built from the library's parts; ``weight_of(p, trade_off)``
    replaces the reversal weight (to recognise typical mistakes)."""
    import torch.nn.functional as F

    from tlcourse.adapt import DomainAdversarialLoss, dann_lambda
    from tlcourse.adapt.loop import source_and_target_features

    weight_of = weight_of or (lambda p, trade_off: trade_off * dann_lambda(p))

    def step(model, discriminator, optimizer, x_s, y_s, x_t, p, trade_off=0.3):
        f_s, f_t = source_and_target_features(model, x_s, x_t)
        loss_y = F.cross_entropy(model.head(f_s), y_s)
        loss_d = DomainAdversarialLoss(discriminator)(f_s, f_t, weight_of(p, trade_off))
        optimizer.zero_grad()
        (loss_y + loss_d).backward()
        optimizer.step()
        return loss_y.item(), loss_d.item()
    return step


def _steps(seed: int, dann_step, ps=(0.1, 0.25), trade_off: float = 0.3) -> dict:
    """Two steps of ``dann_step`` from a fresh setup; what they did to the losses and the parameters."""
    model, disc, opt, x_s, y_s, x_t = _setup(seed)
    before = {"features": model.features.conv1.weight.detach().clone(),
              "head": model.head.fc3.bias.detach().clone(), "discriminator": disc[-1].weight.detach().clone()}
    losses = [dann_step(model, disc, opt, x_s, y_s, x_t, p, trade_off) for p in ps]
    after = {"features": model.features.conv1.weight, "head": model.head.fc3.bias, "discriminator": disc[-1].weight}
    out = {"losses": [[float(v) for v in pair] for pair in losses]}
    out.update({f"{k} moved": (after[k].detach() - before[k]).flatten() for k in before})
    return out


@exercise("lesson06.dann-step", hint="f_s, f_t are given; loss_y = cross-entropy of model.head(f_s); the "
          "discriminator reads grad_reverse(torch.cat([f_s, f_t]), trade_off * dann_lambda(p)); loss_d = "
          "domain_loss of its logits split back into source and target; then zero_grad, backward of the sum, step; "
          "return both losses as floats.")
def _dann_step(dann_step) -> None:
    from tlcourse.adapt import dann_lambda

    got = _steps(0, dann_step)
    assert isinstance(got["losses"][0], list) and len(got["losses"][0]) == 2, \
        tr("return the two losses, (label loss, domain loss)")
    want = _steps(0, _library_step())
    (ly, ld), (wy, wd) = got["losses"][0], want["losses"][0]  # the first step's losses: before any update
    assert math.isclose(ly, wy, rel_tol=1e-4, abs_tol=1e-6), (
        tr("the label loss should be {want:.4f}, got {got:.4f}: cross-entropy of model.head(f_s) and y_s",
           want=wy, got=ly))
    assert math.isclose(ld, wd, rel_tol=1e-4, abs_tol=1e-6), (
        tr("the domain loss should be {want:.4f}, got {got:.4f}: domain_loss of the discriminator's logits on "
           "the source features, then on the target features (one discriminator call on torch.cat([f_s, f_t]))",
           want=wd, got=ld))
    close = lambda a, b: torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not torch.equal(got["head moved"], torch.zeros_like(got["head moved"])), \
        tr("the parameters did not move: call optimizer.step() (after backward)")
    if not close(got["features moved"], want["features moved"]):
        mistakes = {tr("the features were pushed to *help* the discriminator: reverse the gradient (grad_reverse)"):
                    lambda p, t: -t * dann_lambda(p),
                    tr("the reversal weight ignores the schedule: use trade_off * dann_lambda(p)"): lambda p, t: t,
                    tr("the reversal weight ignores trade_off: use trade_off * dann_lambda(p)"):
                    lambda p, t: dann_lambda(p)}
        for message, weight in mistakes.items():
            if close(got["features moved"], _steps(0, _library_step(weight))["features moved"]):
                raise AssertionError(message)
        raise AssertionError(tr("the feature extractor did not move as one DANN step moves it (did you zero the "
                                "gradients before backward, and take one step on loss_y + loss_d?)"))
    assert close(got["discriminator moved"], want["discriminator moved"]), \
        tr("the discriminator did not learn as it should: it minimises the domain loss, at full rate")
    assert close(got["head moved"], want["head moved"]), tr("the label head did not move as it should")
    assert all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) for a, b in zip(got["losses"][1], want["losses"][1])), \
        tr("the second step's losses differ: zero the gradients at every step")


@observe("lesson06.dann-step", rtol=1e-4, atol=1e-6)
def _(seed, dann_step):
    rng = random.Random(seed)
    ps = (rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3))
    return _steps(seed, dann_step, ps, trade_off=rng.uniform(0.2, 2.0))
