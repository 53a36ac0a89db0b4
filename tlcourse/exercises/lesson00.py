"""Public tests and observations of lesson 00 (a warm-up that shows how exercises and checks work)."""
import torch

from tlcourse.grading.checks import exercise
from tlcourse.grading.observe import observe
from tlcourse.i18n import tr


@exercise("lesson00.accuracy", hint="Take the argmax over the class dimension (dim=1), compare with "
          "the labels, and average the matches as floats.")
def _(accuracy):
    logits = torch.tensor([[2.0, 0.1], [0.2, 1.5], [3.0, -1.0], [0.0, 0.5]])
    labels = torch.tensor([0, 1, 1, 1])
    got = accuracy(logits, labels)
    assert isinstance(got, float), tr("return a Python float (use .item()), not {type}", type=type(got).__name__)
    assert 0.0 <= got <= 1.0, tr("an accuracy is a fraction between 0 and 1, got {got}", got=got)
    assert abs(got - 0.75) < 1e-6, tr("3 of these 4 predictions are right, so expect 0.75; got {got:.4f}", got=got)


# What the grader observes (``tlcourse.grading.observe``): the answer on inputs drawn from the grading seed.

@observe("lesson00.accuracy", rtol=1e-6)
def _(seed, accuracy):
    g = torch.Generator().manual_seed(seed)
    n, c = int(torch.randint(20, 60, (1,), generator=g)), int(torch.randint(2, 9, (1,), generator=g))
    logits, labels = torch.randn(n, c, generator=g), torch.randint(0, c, (n,), generator=g)
    got = accuracy(logits, labels)
    return {"random labels": got, "type": type(got).__name__, "all right": accuracy(logits, logits.argmax(1)),
            "all wrong": accuracy(logits, (logits.argmax(1) + 1) % c)}
