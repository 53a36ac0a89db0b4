"""Procedurally drawn shapes: a task that is different from characters but made of the same strokes.

Each shape is a few polylines in a unit box. An image places it with a random rotation, size,
aspect and shift, and draws it with a random pen width (ink = how close a pixel is to the nearest
segment, which also anti-aliases); closed shapes are filled half of the time.
"""
from __future__ import annotations

import numpy as np
import torch

SIZE = 28


def _ring(n: int, radius=1.0, phase=0.0) -> np.ndarray:
    t = phase + 2 * np.pi * np.arange(n + 1) / n
    return np.stack([np.cos(t), np.sin(t)], 1) * np.resize(radius, n + 1)[:, None]


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 25)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y + 3], 1) / 17


def _spiral() -> np.ndarray:
    t = np.linspace(0, 4 * np.pi, 36)
    r = 0.12 + 0.88 * t / t[-1]
    return np.stack([r * np.cos(t), r * np.sin(t)], 1)


#: class name -> (polylines, closed and fillable)
SHAPES: dict[str, tuple[list[np.ndarray], bool]] = {
    "circle": ([_ring(20)], True),
    "square": ([_ring(4, np.sqrt(2), np.pi / 4) * 0.8], True),
    "triangle": ([_ring(3, 1.0, -np.pi / 2) + [0, 0.2]], True),
    "star": ([_ring(10, [1.0, 0.42], -np.pi / 2)], True),
    "heart": ([_heart()], True),
    "plus": ([np.array([[-1, 0], [1, 0.0]]), np.array([[0, -1], [0, 1.0]])], False),
    "arrow": ([np.array([[-1, 0], [1, 0.0]]), np.array([[0.45, -0.5], [1, 0], [0.45, 0.5]])], False),
    "spiral": ([_spiral()], False),
    "zigzag": ([np.stack([np.linspace(-1, 1, 7), 0.5 * (-1.0) ** np.arange(7)], 1)], False),
    "wave": ([np.stack([np.linspace(-1, 1, 25), 0.45 * np.sin(np.linspace(0, 4 * np.pi, 25))], 1)],
             False),
}
CLASSES = list(SHAPES)


def _segments(polylines: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.stack([p[:-1], p[1:]], 1) for p in polylines])  # (S, 2, 2)


def draw(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random drawings of shape ``name``, float32 (n, 28, 28) in [0, 1]."""
    polylines, closed = SHAPES[name]
    seg = torch.as_tensor(_segments(polylines), dtype=torch.float32)
    angle = rng.uniform(0, 2 * np.pi, n)
    scale = rng.uniform(7.0, 10.5, n)
    aspect = np.exp(rng.uniform(-0.15, 0.15, n))
    cos, sin = np.cos(angle), np.sin(angle)
    pose = np.stack([np.stack([cos * aspect, -sin / aspect], 1),
                     np.stack([sin * aspect, cos / aspect], 1)], 1) * scale[:, None, None]
    shift = rng.uniform(-2, 2, (n, 2)) + SIZE / 2
    width = rng.uniform(1.3, 3.0, n)
    filled = closed & (rng.random(n) < 0.5)
    ink = rng.uniform(0.75, 1.0, n)
    noise = rng.uniform(0, 0.06, n)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))

    pose_t = torch.as_tensor(pose, dtype=torch.float32)
    # every segment end in pixel coordinates: (n, S, 2 ends, xy)
    ends = torch.einsum("nij,skj->nski", pose_t, seg) + torch.as_tensor(shift, dtype=torch.float32)[:, None, None]
    ys, xs = torch.meshgrid(torch.arange(SIZE) + 0.5, torch.arange(SIZE) + 0.5, indexing="ij")
    px, py = xs.reshape(1, 1, -1), ys.reshape(1, 1, -1)                    # (1, 1, P)
    ax, ay = ends[:, :, 0, 0, None], ends[:, :, 0, 1, None]                # (n, S, 1)
    dx, dy = ends[:, :, 1, 0, None] - ax, ends[:, :, 1, 1, None] - ay
    # distance from every pixel to every segment, then to the nearest one
    t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy).clamp_min(1e-6)).clamp(0, 1)
    dist = ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2).amin(1).sqrt()  # (n, P)
    x = (torch.as_tensor(width, dtype=torch.float32)[:, None] / 2 + 0.5 - dist).clamp(0, 1)
    if filled.any():
        # even-odd rule: a pixel is inside if a ray to its right crosses an odd number of segments
        crosses = (ay > py) != (ay + dy > py)
        x_at = ax + (py - ay) * dx / torch.where(dy == 0, 1e-6, dy)
        inside = ((crosses & (x_at > px)).sum(1) % 2).float()
        x = torch.where(torch.as_tensor(filled)[:, None], torch.maximum(x, inside), x)
    x = x.reshape(n, SIZE, SIZE) * torch.as_tensor(ink, dtype=torch.float32)[:, None, None]
    x = x + torch.randn(x.shape, generator=gen) * torch.as_tensor(noise, dtype=torch.float32)[:, None, None]
    return x.clamp(0, 1).numpy()


def build(split: str, per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` drawings of every shape, uint8 (N, 28, 28), and their labels."""
    chunk = 200  # bounds the memory of the (images, segments, pixels) distance tensor
    x = np.concatenate([draw(name, min(chunk, per_class - lo), rng) for name in CLASSES
                        for lo in range(0, per_class, chunk)])
    y = np.repeat(np.arange(len(CLASSES)), per_class)
    return (x * 255 + 0.5).astype(np.uint8), y
