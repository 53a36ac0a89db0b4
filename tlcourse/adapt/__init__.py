"""Domain adaptation: align a labelled source domain with an unlabelled target domain.

One idea per module, each small enough to read in a lesson:

- :mod:`~tlcourse.adapt.grl`: the gradient reversal layer and the DANN lambda schedule
- :mod:`~tlcourse.adapt.discriminator`: the domain discriminator
- :mod:`~tlcourse.adapt.dann`: the domain-adversarial loss (DANN)
- :mod:`~tlcourse.adapt.mmd`: maximum mean discrepancy as a loss (multi-kernel Gaussian, DAN)
- :mod:`~tlcourse.adapt.coral`: Deep CORAL
- :mod:`~tlcourse.adapt.importance`: instance weights from a domain classifier's odds
- :mod:`~tlcourse.adapt.net`: CourseNet split into features + head, with per-domain BatchNorm (and AdaBN)
- :mod:`~tlcourse.adapt.loop`: every method as one step of the course's training scaffold
  (``tlcourse.train.train_epochs``); aligners share one signature ``aligner(f_s, f_t, weight)``
- :mod:`~tlcourse.adapt.experiment`: the shared experiment of lessons 06 and 07 (import it from there)
- :mod:`~tlcourse.adapt.study`: that experiment over ten seeds, stored in ``data/results/adaptation.json``
"""
from .coral import CORALLoss, coral_loss, covariance
from .dann import DomainAdversarialLoss
from .discriminator import DomainDiscriminator
from .grl import GradientReverse, GradientReverseLayer, dann_lambda, grad_reverse
from .importance import covariate_shift_demo, domain_classifier, effective_sample_size, importance_weights
from .loop import METHODS, AdaptHistory, accuracy, adapt, features, make_aligner
from .mmd import DEFAULT_SCALES, MMDLoss, gaussian_kernel, median_bandwidth, mmd2
from .net import AdaptNet, DomainBatchNorm, adabn

__all__ = [
    "AdaptHistory", "AdaptNet", "DomainBatchNorm", "adabn", "CORALLoss", "DEFAULT_SCALES", "DomainAdversarialLoss",
    "DomainDiscriminator", "GradientReverse", "GradientReverseLayer", "METHODS", "MMDLoss",
    "accuracy", "adapt", "coral_loss", "covariance", "covariate_shift_demo", "dann_lambda", "domain_classifier",
    "effective_sample_size", "features", "gaussian_kernel", "grad_reverse", "importance_weights",
    "make_aligner", "median_bandwidth", "mmd2",
]
