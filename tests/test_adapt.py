"""Unit tests of tlcourse.adapt (no domains needed; seconds in total)."""
import math

import numpy as np
import pytest
import torch

from tlcourse.adapt import (AdaptNet, CORALLoss, DomainAdversarialLoss, DomainBatchNorm,
                            DomainDiscriminator, GradientReverseLayer, MMDLoss, accuracy, adabn, adapt,
                            coral_loss, covariance, dann_lambda, effective_sample_size, grad_reverse,
                            importance_weights, make_aligner, mmd2)
from tlcourse.models import CourseNet


# ---------------------------------------------------------------- gradient reversal
def reversed_like(x, lambd):
    """Forward -lambda * x, backward through the GRL: gradcheck then compares the GRL's backward
    with the numerical Jacobian of -lambda * x, so it passes iff the GRL multiplies by -lambda."""
    return grad_reverse(x, lambd) + (-lambd * x - x).detach()


@pytest.mark.parametrize("lambd", [0.0, 0.3, 1.0, 2.5])
def test_grl_passes_gradcheck(lambd):
    x = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: reversed_like(t, lambd), (x,))
    assert torch.autograd.gradcheck(lambda t: torch.sin(reversed_like(t, lambd)) * t, (x,))
    w = torch.randn(4, 3, dtype=torch.double)
    (g,) = torch.autograd.grad((grad_reverse(x, lambd) * w).sum(), x)
    torch.testing.assert_close(g, -lambd * w)


def test_identity_backward_fails_the_gradcheck():
    """The check can fail: an identity without reversal does not pass it."""
    x = torch.randn(3, dtype=torch.double, requires_grad=True)
    fake = lambda t: t + (-0.5 * t - t).detach()  # forward -0.5 t, backward +1
    assert not torch.autograd.gradcheck(fake, (x,), raise_exception=False)


def test_grl_is_identity_forward_and_module():
    x = torch.randn(3, 4)
    torch.testing.assert_close(grad_reverse(x, 5.0), x)
    layer = GradientReverseLayer(0.5)
    x = torch.randn(3, 4, requires_grad=True)
    layer(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3, 4), -0.5))
    layer.lambd = 2.0
    assert "lambd=2" in repr(layer)


def test_dann_lambda_schedule():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_lambda(1.0) == pytest.approx(0.99991, abs=1e-5)
    assert dann_lambda(0.1, gamma=1.0) == pytest.approx(2 / (1 + math.exp(-0.1)) - 1)
    values = [dann_lambda(p) for p in np.linspace(0, 1, 21)]
    assert all(b > a for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="progress"):
        dann_lambda(1.5)


# ---------------------------------------------------------------- discriminator and DANN loss
def test_discriminator_shapes_and_bad_sizes():
    d = DomainDiscriminator(128, hidden=32, depth=3)
    assert d(torch.randn(7, 128)).shape == (7,)
    assert sum(isinstance(m, torch.nn.Linear) for m in d) == 4
    with pytest.raises(ValueError, match="depth"):
        DomainDiscriminator(128, depth=0)


def test_domain_adversarial_loss_reverses_only_the_feature_gradient():
    torch.manual_seed(0)
    disc = DomainDiscriminator(6, hidden=8, batch_norm=False)
    loss_fn = DomainAdversarialLoss(disc)
    f_s, f_t = torch.randn(5, 6, requires_grad=True), torch.randn(3, 6, requires_grad=True)
    loss_fn(f_s, f_t, weight=0.5).backward()
    g_rev, gd_rev = f_s.grad.clone(), disc[0].weight.grad.clone()
    f_s.grad = None
    disc.zero_grad()
    loss_fn(f_s, f_t, weight=-1.0).backward()  # lambda = -1: the plain (unreversed) gradient
    torch.testing.assert_close(g_rev, -0.5 * f_s.grad)
    torch.testing.assert_close(gd_rev, disc[0].weight.grad)  # the discriminator learns normally
    assert 0.0 <= loss_fn.domain_acc <= 1.0


def test_domain_adversarial_loss_is_low_for_separable_domains_after_training():
    torch.manual_seed(0)
    loss_fn = DomainAdversarialLoss(DomainDiscriminator(2, hidden=16))
    opt = torch.optim.Adam(loss_fn.parameters(), lr=1e-2)
    for _ in range(100):
        f_s, f_t = torch.randn(32, 2), torch.randn(32, 2) + 4
        loss = loss_fn(f_s.detach(), f_t.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_fn.domain_acc > 0.95 and loss.item() < 0.2


# ---------------------------------------------------------------- MMD
def test_mmd_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 5, generator=g)
    same = mmd2(x, torch.randn(300, 5, generator=g), sigma=2.0)
    assert abs(same.item()) < 5e-3
    shifts = [0.25, 0.5, 1.0, 2.0]
    values = [mmd2(x, torch.randn(300, 5, generator=g) + s, sigma=2.0).item() for s in shifts]
    assert values[0] > 5 * abs(same.item())
    assert all(b > a for a, b in zip(values, values[1:])), values


def test_mmd_multi_kernel_biased_and_unbiased():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(100, 3, generator=g), torch.randn(80, 3, generator=g)
    biased = mmd2(x, y, scales=(0.5, 1, 2), unbiased=False)
    unbiased = mmd2(x, y, scales=(0.5, 1, 2))
    assert biased.item() > 0 and biased.item() > unbiased.item()
    # a list of bandwidths averages one Gaussian kernel per bandwidth
    mk = mmd2(x, y, sigma=[1.0, 3.0])
    torch.testing.assert_close(mk, (mmd2(x, y, sigma=1.0) + mmd2(x, y, sigma=3.0)) / 2)
    loss = MMDLoss()(x, y + 1)
    assert loss.item() > MMDLoss()(x, y).item()
    with pytest.raises(ValueError, match="same d"):
        mmd2(x, torch.randn(10, 4))


def test_mmd_matches_a_direct_double_loop():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(6, 2, generator=g), torch.randn(4, 2, generator=g)
    k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / 2)  # sigma = 1
    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(4)) / 24
    assert mmd2(x, y, sigma=1.0).item() == pytest.approx(xx + yy - 2 * xy, rel=1e-5)


# ---------------------------------------------------------------- CORAL
def test_coral_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 4, generator=g)
    same = coral_loss(x, torch.randn(2000, 4, generator=g)).item()
    values = [coral_loss(x, s * torch.randn(2000, 4, generator=g)).item() for s in (1.5, 2.0, 3.0)]
    assert same < 1e-3 and values[0] > 20 * same
    assert all(b > a for a, b in zip(values, values[1:])), values
    # a pure shift of the mean is invisible to CORAL
    assert coral_loss(x, x + 5.0).item() < 1e-9
    assert CORALLoss()(x, 2 * x).item() == pytest.approx(coral_loss(x, 2 * x).item())


def test_coral_formula():
    x = torch.randn(50, 3)
    torch.testing.assert_close(covariance(x), torch.from_numpy(np.cov(x.numpy(), rowvar=False)).float())
    y = torch.randn(40, 3)
    expected = ((covariance(x) - covariance(y)) ** 2).sum() / (4 * 9)
    torch.testing.assert_close(coral_loss(x, y), expected)
    with pytest.raises(ValueError, match="same width"):
        coral_loss(x, torch.randn(5, 2))


# ---------------------------------------------------------------- importance weights
@pytest.mark.parametrize("dim", [1, 2])
def test_importance_weights_recover_a_known_density_ratio(dim):
    rng = np.random.default_rng(0)
    mu = np.array([0.8, -0.5][:dim])
    xs = rng.normal(size=(4000, dim))
    xt = rng.normal(size=(3000, dim)) + mu
    w = importance_weights(xs, xt, clip=None).numpy()
    true = np.exp(xs @ mu - mu @ mu / 2)  # N(mu, I) / N(0, I)
    true = true / true.mean()
    bulk = np.abs(xs).max(1) < 2
    assert np.corrcoef(np.log(w[bulk]), np.log(true[bulk]))[0, 1] > 0.99
    assert np.median(np.abs(w[bulk] / true[bulk] - 1)) < 0.1
    assert w.mean() == pytest.approx(1.0, abs=1e-5)


def test_importance_weights_clip_and_effective_sample_size():
    rng = np.random.default_rng(1)
    xs, xt = rng.normal(size=(500, 1)), rng.normal(size=(500, 1)) + 3
    raw = importance_weights(xs, xt, clip=None)
    clipped = importance_weights(xs, xt, clip=2.0)
    assert clipped.max() / clipped.min() <= raw.max() / raw.min()
    assert effective_sample_size(torch.ones(100)) == pytest.approx(100)
    assert effective_sample_size(clipped) > effective_sample_size(raw)
    assert effective_sample_size(raw) < 100  # a large shift leaves few useful source samples
    with pytest.raises(ValueError, match="clip"):
        importance_weights(xs, xt, clip=0)


# ---------------------------------------------------------------- network and loop
def test_adaptnet_shares_coursenet_layers_and_splits_where_asked():
    net = CourseNet(10)
    model = AdaptNet(net=net, split="fc2")
    assert model.features.conv1 is net.conv1 and model.head.fc3 is net.fc3
    assert model.features(torch.rand(3, 1, 28, 28)).shape == (3, 128)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert sum(isinstance(m, DomainBatchNorm) for m in model.modules()) == 5
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in AdaptNet(norm="batch").modules()) == 3
    assert not any(isinstance(m, (DomainBatchNorm, torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                   for m in AdaptNet(norm=None).modules())
    for split, width in [("conv3", 576), ("fc1", 256), ("fc2", 128)]:
        m = AdaptNet(split=split)
        assert m.feature_dim == width and m.features(torch.rand(2, 1, 28, 28)).shape == (2, width)
        assert m(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    # without normalisation, the split network computes exactly what the CourseNet computes
    net = CourseNet(10).eval()
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(AdaptNet(net=net, norm=None, split="conv3").eval()(x), net(x))
    with pytest.raises(ValueError, match="width"):
        AdaptNet(net=CourseNet(10, width=2))
    with pytest.raises(ValueError, match="split"):
        AdaptNet(split="conv9")
    with pytest.raises(ValueError, match="norm"):
        AdaptNet(norm="layer")


def test_domain_batchnorm_is_batchnorm_within_a_domain():
    torch.manual_seed(0)
    dbn, ref = DomainBatchNorm(8), torch.nn.BatchNorm2d(8)
    with torch.no_grad():
        dbn.weight.uniform_(0.5, 2), dbn.bias.uniform_(-1, 1)
        ref.weight.copy_(dbn.weight), ref.bias.copy_(dbn.bias)
    for _ in range(3):
        x = 3 * torch.randn(5, 8, 4, 4) + 1
        torch.testing.assert_close(dbn(x), ref(x))
    torch.testing.assert_close(dbn.stats[0].running_var, ref.running_var)
    dbn.eval(), ref.eval()
    torch.testing.assert_close(dbn(x), ref(x))
    assert dbn.stats[1].num_batches_tracked == 0  # the other domain was never touched


def test_domain_batchnorm_keeps_one_set_of_statistics_per_domain():
    torch.manual_seed(0)
    model = AdaptNet(split="conv3").train()
    bright, dark = 0.8 + 0.2 * torch.rand(32, 1, 28, 28), 0.2 * torch.rand(32, 1, 28, 28)
    with model.domain("target"):
        model.features(bright)
    with model.domain("source"):
        model.features(dark)
    bn = model.features.bn_conv1
    assert bn.domain == 0  # the context restores the previous domain
    src, tgt = bn.stats[0].running_mean, bn.stats[1].running_mean
    assert not torch.allclose(src, tgt)
    with pytest.raises(ValueError, match="domain"):
        with model.domain("test"):
            pass
    # AdaBN re-estimates only the target statistics
    before = src.clone()
    adabn(model, bright)
    torch.testing.assert_close(model.features.bn_conv1.stats[0].running_mean, before)
    model.eval()
    with model.domain("target"):
        out = model.features.bn_conv1(model.features.conv1(bright))
    assert out.mean().abs() < 0.1 and (out.std() - 1).abs() < 0.1  # normalised by its own statistics
    with pytest.raises(ValueError, match="norm='domain'"):
        adabn(AdaptNet(norm="batch"), bright)


def _toy(n, shift, seed):
    """Two-class toy images: a bright square top-left (0) or bottom-right (1), plus a domain shift."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    for i in range(n):
        r = 4 if y[i] == 0 else 16
        x[i, 0, r:r + 8, r:r + 8] += 0.8
    return (x + shift).clamp(0, 1), y


class _Unlabelled:
    """Target data whose labels raise if anyone reads them."""

    def __init__(self, x):
        self.x = x

    @property
    def y(self):
        raise AssertionError("the adaptation loop read target labels")


@pytest.mark.parametrize("method", ["source-only", "dann", "mmd", "coral", "importance"])
def test_adapt_loop_runs_every_method_without_target_labels(method):
    src, val = _toy(128, 0.0, 0), _toy(64, 0.0, 1)
    tgt_x, _ = _toy(96, 0.3, 2)
    kw = {"source_weights": torch.ones(128)} if method == "importance" else {}
    model = AdaptNet(num_classes=2)
    hist = adapt(model, src, _Unlabelled(tgt_x), val, method=method, epochs=2, batch_size=32,
                 monitor={"target": _toy(64, 0.3, 3)}, show_progress=False, **kw)
    assert len(hist) == 2 and 1 <= hist.best_epoch <= 2
    row = hist.best
    assert {"loss_cls", "loss_align", "source_val_acc", "target_acc", "lr", "weight"} <= set(row)
    assert hist.column("lr")[1] < 0.01  # annealed
    if method == "dann":
        assert 0 <= row["domain_acc"] <= 1


def test_adapt_restores_the_best_source_val_epoch_and_is_deterministic():
    src, val, tgt = _toy(128, 0.0, 0), _toy(64, 0.0, 1), _toy(96, 0.3, 2)[0]
    runs = []
    for _ in range(2):
        model = AdaptNet(num_classes=2)
        torch.manual_seed(0)
        model = AdaptNet(num_classes=2)
        hist = adapt(model, src, tgt, val, method="dann", epochs=3, batch_size=32, seed=5,
                     show_progress=False)
        assert accuracy(model, val) == pytest.approx(hist.best["source_val_acc"])
        assert hist.best["source_val_acc"] == max(hist.column("source_val_acc"))
        runs.append(hist.column("loss_cls"))
    assert runs[0] == runs[1]


def test_adapt_rejects_bad_input():
    src, val = _toy(32, 0.0, 0), _toy(16, 0.0, 1)
    model = AdaptNet(num_classes=2)
    with pytest.raises(ValueError, match="unknown method"):
        adapt(model, src, src[0], val, method="gan")
    with pytest.raises(ValueError, match="needs target"):
        adapt(model, src, None, val, method="mmd")
    with pytest.raises(ValueError, match="source_weights"):
        adapt(model, src, None, val, method="importance")
    with pytest.raises(ValueError, match="source_val"):
        adapt(model, src, src[0], None, method="dann")
    with pytest.raises(ValueError, match="unknown method"):
        make_aligner("adda", 128)


def test_notebook_defaults_are_the_settings_the_claims_tests_check():
    import json
    from pathlib import Path

    from tlcourse.adapt.experiment import DEFAULTS, LARGE_LAMBDA, MAIN_SHIFT, N_PER_CLASS

    root = Path(__file__).resolve().parent.parent / "notebooks"
    for name in ("06_adversarial_adaptation.ipynb", "07_feature_and_instance_transfer.ipynb"):
        cells = json.loads((root / name).read_text())["cells"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, f"{name}: one cell tagged 'parameters'"
        values: dict = {}
        exec("".join(params[0]["source"]), {}, values)
        assert values["SEED"] == 0 and values["N_PER_CLASS"] == N_PER_CLASS
        assert values["EPOCHS"] == DEFAULTS["epochs"] and values["STRENGTH"] == MAIN_SHIFT["strength"]
        if "LARGE_LAMBDA" in values:
            assert values["LARGE_LAMBDA"] == LARGE_LAMBDA


def test_discriminator_accuracy_averages_a_tenth_of_the_steps():
    from tlcourse.adapt import AdaptHistory

    h = AdaptHistory(method="dann", steps=[{"domain_acc": 1.0}] * 10 + [{"domain_acc": 0.5}] * 80
                     + [{"domain_acc": 0.0}] * 10)
    assert h.discriminator_accuracy("first") == 1.0 and h.discriminator_accuracy("last") == 0.0
    with pytest.raises(ValueError, match="first"):
        h.discriminator_accuracy("middle")


def test_every_aligner_takes_source_features_target_features_and_a_weight():
    torch.manual_seed(0)
    f_s, f_t = torch.randn(8, 16, requires_grad=True), torch.randn(8, 16) + 1
    for method in ("mmd", "coral"):
        aligner = make_aligner(method, 16)
        torch.testing.assert_close(aligner(f_s, f_t, 0.5), 0.5 * aligner(f_s, f_t, 1.0))
    dann = make_aligner("dann", 16)
    dann(f_s, f_t, 0.0).backward()  # weight = reversal strength: the features get no gradient at 0
    assert torch.count_nonzero(f_s.grad) == 0 and dann.discriminator[0].weight.grad.abs().sum() > 0
