"""Tiny learnable image sets for unit tests that need no checkpoint and no domains."""
import torch


def toy(n: int, classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` 28x28 images in which class c lights up the c-th quadrant, and their labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    for c in range(classes):
        r, col = divmod(c, 2)
        x[y == c, :, 14 * r:14 * r + 14, 14 * col:14 * col + 14] += 0.8
    return x, y
