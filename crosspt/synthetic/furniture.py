"""Furniture of the synthetic scenes as lists of :class:`~crosspt.synthetic.scene_model.Part`
in an object-local frame: footprint ``[0, w] x [0, d]``, z up from the floor, the
object's back at y = d (the side put against a wall), its front at y = 0. Each builder
returns (NYU40 class name, parts) with random proportions, colours and textures.
"""
import math
from typing import List, Tuple

import numpy as np

from .scene_model import Part, fabric_colour, jitter, wood_colour

__all__ = ['table', 'chair', 'bed', 'sofa', 'cabinet', 'bookshelf', 'desk', 'refrigerator',
           'waste_bin', 'door', 'window', 'picture']


def table(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d = rng.uniform(0.9, 1.6), rng.uniform(0.6, 1.0)
    h, top = rng.uniform(0.70, 0.78), 0.04
    wood = wood_colour(rng)
    parts = [Part('box', (0, 0, h - top), (w, d, h), wood, 'wood', rng.uniform(0.05, 0.1),
                   0.0, 0.3)]
    legs = jitter(rng, wood * 0.8, 0.03)
    inset, s = 0.04, 0.05
    round_legs = rng.uniform() < 0.5
    for x in (inset, w - inset - s):
        for y in (inset, d - inset - s):
            parts.append(Part('cylinder' if round_legs else 'box', (x, y, 0),
                               (x + s, y + s, h - top), legs, 'plain', contrast=0.0))
    return 'table', parts


def chair(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w = rng.uniform(0.42, 0.5)
    d = w + rng.uniform(-0.02, 0.04)
    seat_h, seat_t, back_t = rng.uniform(0.42, 0.48), 0.04, 0.04
    back_h = rng.uniform(0.85, 1.0)
    frame = wood_colour(rng) if rng.uniform() < 0.6 else jitter(rng, (0.2, 0.2, 0.22))
    cushion = fabric_colour(rng)
    s = 0.04
    parts = [Part('box', (0, 0, seat_h - seat_t), (w, d, seat_h), cushion, 'checker',
                   rng.uniform(0.03, 0.06), 0.0, 0.2),
             Part('box', (0, d - back_t, seat_h), (w, d, back_h), frame, 'wood',
                   rng.uniform(0.04, 0.08), math.pi / 2, 0.25)]
    for x in (0.0, w - s):
        for y in (0.0, d - s):
            parts.append(Part('box', (x, y, 0), (x + s, y + s, seat_h - seat_t), frame))
    return 'chair', parts


def bed(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d = rng.uniform(0.95, 1.6), rng.uniform(1.95, 2.1)
    frame_h, mat_h = rng.uniform(0.25, 0.32), rng.uniform(0.18, 0.24)
    head_t, head_h = 0.06, rng.uniform(0.85, 1.1)
    wood, sheet = wood_colour(rng), fabric_colour(rng)
    inset = 0.03
    pillow_d = 0.35
    parts = [Part('box', (0, 0, 0), (w, d - head_t, frame_h), wood, 'wood', 0.08, 0.0, 0.3),
             Part('box', (0, d - head_t, 0), (w, d, head_h), jitter(rng, wood * 0.9), 'wood',
                   0.06, math.pi / 2, 0.3),
             Part('box', (inset, inset, frame_h), (w - inset, d - head_t, frame_h + mat_h),
                   sheet, 'stripes', rng.uniform(0.08, 0.2), rng.choice([0.0, math.pi / 2]),
                   0.25),
             Part('box', (0.1, d - head_t - pillow_d - 0.03, frame_h + mat_h),
                   (w - 0.1, d - head_t - 0.03, frame_h + mat_h + 0.12),
                   jitter(rng, (0.9, 0.9, 0.88), 0.04), 'plain', contrast=0.0)]
    return 'bed', parts


def sofa(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d = rng.uniform(1.4, 2.2), rng.uniform(0.8, 0.95)
    seat_h, back_t, back_h = rng.uniform(0.40, 0.46), 0.2, rng.uniform(0.8, 0.9)
    arm_w, arm_h = 0.15, seat_h + rng.uniform(0.15, 0.22)
    cloth = fabric_colour(rng)
    tex = ('checker', rng.uniform(0.05, 0.1), 0.0, 0.15)
    parts = [Part('box', (arm_w, 0, 0), (w - arm_w, d - back_t, seat_h), cloth, *tex),
             Part('box', (0, d - back_t, 0), (w, d, back_h), jitter(rng, cloth * 0.9, 0.02),
                   *tex),
             Part('box', (0, 0, 0), (arm_w, d - back_t, arm_h), cloth, *tex),
             Part('box', (w - arm_w, 0, 0), (w, d - back_t, arm_h), cloth, *tex)]
    return 'sofa', parts


def cabinet(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d = rng.uniform(0.6, 1.2), rng.uniform(0.4, 0.6)
    h = rng.uniform(0.8, 1.0) if rng.uniform() < 0.6 else rng.uniform(1.7, 2.0)
    body = wood_colour(rng) if rng.uniform() < 0.5 else jitter(rng, (0.85, 0.85, 0.82))
    front = jitter(rng, body * 0.92, 0.02)
    gap, t = 0.01, 0.015
    parts = [Part('box', (0, t, 0), (w, d, h), body, 'wood', 0.07, math.pi / 2, 0.2)]
    half = w / 2
    for x0, x1 in ((0.0, half - gap / 2), (half + gap / 2, w)):
        parts.append(Part('box', (x0 + 0.02, 0, 0.05), (x1 - 0.02, t, h - 0.05), front,
                           'wood', 0.06, math.pi / 2, 0.25))
    return 'cabinet', parts


def bookshelf(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.28, 0.4), rng.uniform(1.5, 2.0)
    t = 0.025
    wood = wood_colour(rng)
    tex = ('wood', 0.05, 0.0, 0.3)
    parts = [Part('box', (0, 0, 0), (t, d, h), wood, 'wood', 0.05, math.pi / 2, 0.3),
             Part('box', (w - t, 0, 0), (w, d, h), wood, 'wood', 0.05, math.pi / 2, 0.3),
             Part('box', (t, d - t, 0), (w - t, d, h), jitter(rng, wood * 0.85, 0.02), *tex),
             Part('box', (t, 0, 0), (w - t, d - t, 0.08), wood, *tex),
             Part('box', (t, 0, h - t), (w - t, d - t, h), wood, *tex)]
    shelves = int(rng.integers(2, 5))
    for k in range(1, shelves + 1):
        z = 0.08 + (h - t - 0.08) * k / (shelves + 1)
        parts.append(Part('box', (t, 0, z - t / 2), (w - t, d - t, z + t / 2), wood, *tex))
    return 'bookshelf', parts


def desk(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d, h = rng.uniform(1.0, 1.6), rng.uniform(0.55, 0.75), rng.uniform(0.72, 0.76)
    top, side = 0.03, 0.03
    wood = wood_colour(rng)
    legs = jitter(rng, wood * 0.85, 0.02)
    ped_w = rng.uniform(0.35, 0.45)
    parts = [Part('box', (0, 0, h - top), (w, d, h), wood, 'wood', 0.08, 0.0, 0.3),
             Part('box', (0, 0.02, 0), (side, d, h - top), legs, 'wood', 0.06,
                   math.pi / 2, 0.2),
             Part('box', (w - ped_w, 0.02, 0), (w, d, h - top), legs, 'stripes',
                   (h - top) / 3, math.pi / 2, 0.25)]
    return 'desk', parts


def refrigerator(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, d, h = rng.uniform(0.6, 0.75), rng.uniform(0.6, 0.68), rng.uniform(1.7, 1.9)
    white = jitter(rng, (0.9, 0.9, 0.92), 0.04)
    split = h * rng.uniform(0.6, 0.7)
    return 'refrigerator', [
        Part('box', (0, 0.02, 0), (w, d, h), white, 'plain', contrast=0.0),
        Part('box', (0.01, 0, 0.01), (w - 0.01, 0.02, split - 0.01), white, 'stripes', 0.3,
              0.0, 0.05),
        Part('box', (0.01, 0, split + 0.01), (w - 0.01, 0.02, h - 0.01), white, 'stripes',
              0.3, 0.0, 0.05)]


def waste_bin(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    r, h = rng.uniform(0.12, 0.18), rng.uniform(0.3, 0.45)
    return 'otherfurniture', [Part('cylinder', (0, 0, 0), (2 * r, 2 * r, h),
                                    jitter(rng, (0.3, 0.45, 0.35), 0.15), 'stripes',
                                    rng.uniform(0.04, 0.08), 0.0, 0.3)]


def door(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, h, t = rng.uniform(0.8, 0.95), rng.uniform(2.0, 2.1), 0.04
    wood = wood_colour(rng)
    return 'door', [Part('box', (0, 0, 0), (w, t, h), wood, 'wood', 0.09, 0.0, 0.3),
                    Part('box', (w - 0.12, -0.05, 1.0), (w - 0.06, 0, 1.04),
                          jitter(rng, (0.75, 0.75, 0.7), 0.05))]


def window(rng: np.random.Generator, wall_height: float) -> Tuple[str, List[Part]]:
    w = rng.uniform(0.8, 1.6)
    z0 = rng.uniform(0.8, 1.0)
    z1 = min(z0 + rng.uniform(1.0, 1.3), wall_height - 0.2)
    return 'window', [Part('box', (0, 0, z0), (w, 0.05, z1),
                            jitter(rng, (0.62, 0.78, 0.9), 0.05), 'grid',
                            rng.uniform(0.3, 0.5), 0.0, 0.6)]


def picture(rng: np.random.Generator) -> Tuple[str, List[Part]]:
    w, h = rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.7)
    zc = rng.uniform(1.4, 1.7)
    return 'picture', [Part('box', (0, 0, zc - h / 2), (w, 0.02, zc + h / 2),
                             jitter(rng, rng.uniform(0.2, 0.85, 3), 0.0), 'stripes',
                             rng.uniform(0.05, 0.15), rng.uniform(0, math.pi), 0.5)]
