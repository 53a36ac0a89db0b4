"""The public checks of lessons 06 and 07 accept the library's answers and reject typical mistakes."""
import pytest
import torch
import torch.nn.functional as F

from tlcourse.adapt import coral_loss, dann_lambda, grad_reverse, mmd2
from tlcourse.grading.checks import CheckFailed, check


def test_lesson06_checks_accept_correct_answers(capsys):
    assert check("lesson06.grl", grad_reverse)
    assert check("lesson06.schedule", dann_lambda)

    def domain_loss(zs, zt):
        return 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.zeros_like(zs))
                      + F.binary_cross_entropy_with_logits(zt, torch.ones_like(zt)))
    assert check("lesson06.domain-loss", domain_loss)
    assert "passed" in capsys.readouterr().out


def test_lesson06_checks_reject_mistakes():
    identity = lambda x, lambd: x.view_as(x)  # forgot the reversal
    with pytest.raises(CheckFailed, match="gradient"):
        check("lesson06.grl", identity)

    def not_done(x, lambd):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not done yet"):
        check("lesson06.grl", not_done)
    with pytest.raises(CheckFailed, match="gamma"):
        check("lesson06.schedule", lambda p, gamma=10.0: dann_lambda(p))
    pooled = lambda zs, zt: F.binary_cross_entropy_with_logits(
        torch.cat([zs, zt]), torch.cat([torch.zeros_like(zs), torch.ones_like(zt)]))
    with pytest.raises(CheckFailed, match="pooled"):
        check("lesson06.domain-loss", pooled)


def _weights(p, n_source, n_target, clip):
    w = (p / (1 - p) * n_source / n_target).clamp(max=clip)
    return w / w.mean()


def test_lesson07_checks_accept_correct_answers():
    assert check("lesson07.mmd", lambda x, y, sigma: mmd2(x, y, sigma=sigma))
    assert check("lesson07.coral", coral_loss)
    assert check("lesson07.weights", _weights)


def test_lesson07_checks_reject_mistakes():
    with pytest.raises(CheckFailed, match="biased"):
        check("lesson07.mmd", lambda x, y, sigma: mmd2(x, y, sigma=sigma, unbiased=False))
    with pytest.raises(CheckFailed, match="expected"):
        check("lesson07.coral", lambda a, b: ((a.T @ a - b.T @ b) ** 2).sum())
    with pytest.raises(CheckFailed, match="clip"):
        check("lesson07.weights", lambda p, ns, nt, clip: (lambda w: (w / w.mean()).clamp(max=clip))(p / (1 - p) * ns / nt))
