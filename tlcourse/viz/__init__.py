"""What the layers learned (lesson 05): pictures of the features of plain conv/ReLU/max-pool nets.

* ``filters``: conv1 weights as images.
* ``top_activations``: the inputs that most activate a channel, cropped to the receptive field.
* ``deconvnet``: Zeiler & Fergus' projection of one activation back to pixel space (and, by the rule used
  at the ReLUs, the gradient and guided backpropagation).
* ``actmax``: activation maximization by regularised gradient ascent on the input.
* ``compare``: the same channels before and after fine-tuning, and how much each layer moved.
* ``layer_change``: that measurement over seeds and targets, stored in ``data/results`` (``python -m``).
* ``layers``: which networks are supported (CourseNet, torchvision VGG/AlexNet ``features``).
"""
from tlcourse.viz.actmax import activation_maximization
from tlcourse.viz.compare import activation_similarity, channel_similarity, compare_channels, weight_change
from tlcourse.viz.deconvnet import forward_with_switches, project, project_top, unpool
from tlcourse.viz.filters import filter_images, show_filters
from tlcourse.viz.layers import ConvStack, UnsupportedModelError, conv_stack
from tlcourse.viz.plots import show_images
from tlcourse.viz.top_activations import TopActivations, show_top_activations, top_activations

__all__ = [
    "ConvStack", "TopActivations", "UnsupportedModelError", "activation_maximization", "activation_similarity",
    "channel_similarity", "compare_channels", "conv_stack", "filter_images", "forward_with_switches", "project",
    "project_top", "show_filters", "show_images", "show_top_activations", "top_activations", "unpool",
    "weight_change",
]
