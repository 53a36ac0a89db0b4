"""The public checks of lessons 06 and 07 accept the library's answers and reject typical mistakes."""
import pytest
import torch
import torch.nn.functional as F

from tlcourse.adapt import dann_lambda, effective_sample_size, grad_reverse, importance_weights, mmd2
from tlcourse.adapt.loop import source_and_target_features
from tlcourse.grading.checks import CheckFailed, check


def test_lesson06_checks_accept_correct_answers(capsys):
    assert check("lesson06.grl", grad_reverse)
    assert check("lesson06.schedule", dann_lambda)

    def domain_loss(zs, zt):
        return 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.zeros_like(zs))
                      + F.binary_cross_entropy_with_logits(zt, torch.ones_like(zt)))
    assert check("lesson06.domain-loss", domain_loss)
    assert check("lesson06.dann-step", _dann_step(domain_loss))
    assert "passed" in capsys.readouterr().out


def _dann_step(domain_loss, sign=1.0, schedule=True, zero_grad=True):
    """A DANN step as the learner assembles it; the keywords plant typical mistakes."""
    def dann_step(model, discriminator, optimizer, x_s, y_s, x_t, p, trade_off=0.3):
        f_s, f_t = source_and_target_features(model, x_s, x_t)
        loss_y = F.cross_entropy(model.head(f_s), y_s)
        weight = sign * trade_off * (dann_lambda(p) if schedule else 1.0)
        logits = discriminator(grad_reverse(torch.cat([f_s, f_t]), weight))
        loss_d = domain_loss(logits[: len(f_s)], logits[len(f_s):])
        if zero_grad:
            optimizer.zero_grad()
        (loss_y + loss_d).backward()
        optimizer.step()
        return loss_y.item(), loss_d.item()
    return dann_step


def _domain_loss(zs, zt):
    return 0.5 * (F.binary_cross_entropy_with_logits(zs, torch.zeros_like(zs))
                  + F.binary_cross_entropy_with_logits(zt, torch.ones_like(zt)))


@pytest.mark.parametrize("mistake, message", [
    ({"sign": -1.0}, "help"), ({"schedule": False}, "schedule"), ({"zero_grad": False}, "zero the gradients")])
def test_lesson06_dann_step_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check("lesson06.dann-step", _dann_step(_domain_loss, **mistake))


def test_lesson06_dann_step_grader_tells_a_broken_step_from_the_reference():
    from tlcourse.exercises.lesson06 import _library_step, _steps

    ref = _steps(123, _library_step(), (0.05, 0.2), 1.1)
    assert torch.allclose(_steps(123, _dann_step(_domain_loss), (0.05, 0.2), 1.1)["features moved"],
                          ref["features moved"], atol=1e-6)
    pooled = lambda zs, zt: F.binary_cross_entropy_with_logits(
        torch.cat([zs, zt]), torch.cat([torch.zeros_like(zs), torch.ones_like(zt)]))
    wrong = _steps(123, _dann_step(pooled), (0.05, 0.2), 1.1)
    assert abs(wrong["losses"][0][1] - ref["losses"][0][1]) > 1e-4  # batches of 8 and 6: pooling changes the loss


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
    assert check("lesson07.choose", lambda fs, ft: effective_sample_size(importance_weights(fs, ft)) >= len(fs) / 3)
    assert check("lesson07.weights", _weights)


def test_lesson07_checks_reject_mistakes():
    with pytest.raises(CheckFailed, match="biased"):
        check("lesson07.mmd", lambda x, y, sigma: mmd2(x, y, sigma=sigma, unbiased=False))
    with pytest.raises(CheckFailed, match="barely overlap"):
        check("lesson07.choose", lambda fs, ft: True)
    with pytest.raises(CheckFailed, match="True or False"):
        check("lesson07.choose", lambda fs, ft: effective_sample_size(importance_weights(fs, ft)))
    with pytest.raises(CheckFailed, match="clip"):
        check("lesson07.weights", lambda p, ns, nt, clip: (lambda w: (w / w.mean()).clamp(max=clip))(p / (1 - p) * ns / nt))
