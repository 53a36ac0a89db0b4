"""How much of a new task does a pretrained network already solve, before any target training?

Two answers (lesson 02). Where the target's classes are among the source's (handwritten digits,
for a network pretrained on glyphs that include the digits), use the network as it is: keep only
the logits of the shared classes, matched by name (``shared_class_accuracy``). Otherwise, a
**linear probe**: freeze the network, take one layer's features of a few labelled target images,
and fit the simplest classifier there is on them, a (multinomial) logistic regression. Its accuracy
on held-out target images measures how linearly separable the new classes already are in that
feature space; compared with the same probe on a randomly initialised network of the same shape,
it says how much the pretraining itself contributes.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from tlcourse.train import Data, as_tensors, embed, predict


def shared_class_accuracy(model: nn.Module, data: Data, model_classes: list[str] | None = None) -> float:
    """Accuracy of ``model`` on ``data`` using only its logits for ``data.classes`` (matched by name).

    ``model_classes`` defaults to ``model.classes`` (set by ``zoo.load_pretrained``).
    """
    names = model_classes if model_classes is not None else model.classes
    missing = [c for c in data.classes if c not in names]
    if missing:
        raise ValueError(f"the model has no class {', '.join(map(repr, missing))}; it knows {', '.join(names)}")
    columns = [names.index(c) for c in data.classes]
    x, y = as_tensors(data)
    return (predict(model, x)[:, columns].argmax(1) == y).float().mean().item()


def logistic_regression(C: float = 1.0, max_iter: int = 1000):
    """The course's linear classifier, unfitted: standardise each feature, then a (multinomial)
    logistic regression with inverse regularisation strength ``C`` (scikit-learn's pipeline)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))


def probe_accuracy(train_features: Tensor | np.ndarray, train_y: Tensor | np.ndarray,
                   test_features: Tensor | np.ndarray, test_y: Tensor | np.ndarray, C: float = 1.0) -> float:
    """Test accuracy of :func:`logistic_regression` fitted on ``train_features``."""
    from threadpoolctl import threadpool_limits

    def numpy(a):
        return a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a)

    clf = logistic_regression(C)
    with threadpool_limits(1):  # small problems: BLAS threads only fight each other
        clf.fit(numpy(train_features), numpy(train_y))
        return float(clf.score(numpy(test_features), numpy(test_y)))


def linear_probe(model: nn.Sequential, train: Data, test: Data, upto: str = "fc2", C: float = 1.0) -> float:
    """Accuracy on ``test`` of a linear classifier trained on ``model``'s frozen ``upto`` features
    of ``train`` (the model itself is not changed)."""
    (_, y_train), (_, y_test) = as_tensors(train), as_tensors(test)
    return probe_accuracy(embed(model, train, upto), y_train, embed(model, test, upto), y_test, C)


__all__ = ["linear_probe", "logistic_regression", "probe_accuracy", "shared_class_accuracy"]
