"""PPKT's point-to-pixel InfoNCE (PPNCE; docs/methods/ppkt.md, 'PPNCE loss')."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from crosspt.ops.distributed import all_gather_with_grad, dist_world
from crosspt.registry import MODELS


@MODELS.register_module()
class PPNCELoss(nn.Module):
    """``L = -(1/K) sum_a log softmax_b(<f_a, g_b> / tau)[a]``: points are the queries,
    the K sampled pixels the keys, the matching pixel of point a is key a (diagonal
    targets).  Chance level is ln K.

    With ``gather=True`` (the default) and W > 1 processes, the K pairs are the union of
    every rank's pairs (K = sum_r K_r, ranks may hold different K_r): each rank's points
    are scored against the pixels of all ranks (all-gathered with gradient), the positive
    of this rank's point a being pixel ``offset_r + a`` of the union.  Rank r returns
    ``W / K * sum_{a in r} -log softmax(...)[a]``.  Convention: the mean of the returned
    values over the ranks is the 1-process loss on the union, and DDP's gradient averaging
    (which divides the summed gradients by W) gives exactly the 1-process gradient on the
    union; the value a single rank logs is an unbiased estimate of that loss.  With one
    process, or ``gather=False`` (each rank its own K_r pairs), the formula above.

    Args:
        temperature: tau (PPKT: 0.04).
        normalize: L2-normalise both sides first (tau = 0.04 presumes cosine
            similarities; [UNVERIFIED] for PPKT, docs/methods/ppkt.md, 'PPNCE loss').
        loss_weight: multiplier.
        gather: take the negatives from every rank (the paper's loss over one batch).
        process_group: the ranks to gather from (default: all).
    """

    def __init__(self, temperature: float = 0.04, normalize: bool = True,
                 loss_weight: float = 1.0, gather: bool = True,
                 process_group: Optional[object] = None) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'PPNCELoss: temperature must be > 0, got {temperature}')
        if not isinstance(gather, bool):
            raise TypeError(f'PPNCELoss: gather must be True or False, got {gather!r}')
        self.temperature, self.normalize, self.loss_weight = temperature, normalize, loss_weight
        self.gather, self.process_group = gather, process_group

    def forward(self, point_feats: Tensor, pixel_feats: Tensor) -> Tensor:
        """point_feats (K_r, D), pixel_feats (K_r, D), row a of both a matching pair.
        Returns the scalar loss (see the class docstring for the multi-process value)."""
        if point_feats.dim() != 2 or point_feats.shape != pixel_feats.shape:
            raise ValueError(f'PPNCELoss: point_feats and pixel_feats must both be (K, D), '
                             f'got {tuple(point_feats.shape)} and {tuple(pixel_feats.shape)}')
        if self.normalize:
            point_feats = F.normalize(point_feats, dim=1)
            pixel_feats = F.normalize(pixel_feats, dim=1)
        world = dist_world(self.process_group)[1] if self.gather else 1
        if world == 1:
            logits = point_feats @ pixel_feats.t() / self.temperature           # (K, K)
            targets = torch.arange(len(logits), device=logits.device)
            return self.loss_weight * F.cross_entropy(logits, targets)
        keys, offset = all_gather_with_grad(pixel_feats, self.process_group)  # (K, D)
        logits = point_feats @ keys.t() / self.temperature                     # (K_r, K)
        targets = offset + torch.arange(len(logits), device=logits.device)
        summed = F.cross_entropy(logits, targets, reduction='sum')
        return self.loss_weight * summed * (world / keys.shape[0])
