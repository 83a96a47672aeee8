"""PPKT's point-to-pixel InfoNCE (PPNCE; docs/methods/ppkt.md, 'PPNCE loss')."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from crosspt.registry import MODELS


@MODELS.register_module()
class PPNCELoss(nn.Module):
    """``L = -(1/K) sum_a log softmax_b(<f_a, g_b> / tau)[a]``: points are the queries,
    the K sampled pixels the keys, the matching pixel of point a is key a (diagonal
    targets).  Chance level is ln K.

    Args:
        temperature: tau (PPKT: 0.04).
        normalize: L2-normalise both sides first (tau = 0.04 presumes cosine
            similarities; [UNVERIFIED] for PPKT, docs/methods/ppkt.md, 'PPNCE loss').
        loss_weight: multiplier.
    """

    def __init__(self, temperature: float = 0.04, normalize: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'PPNCELoss: temperature must be > 0, got {temperature}')
        self.temperature, self.normalize, self.loss_weight = temperature, normalize, loss_weight

    def forward(self, point_feats: Tensor, pixel_feats: Tensor) -> Tensor:
        """point_feats (K, D), pixel_feats (K, D), row a of both a matching pair."""
        if point_feats.dim() != 2 or point_feats.shape != pixel_feats.shape:
            raise ValueError(f'PPNCELoss: point_feats and pixel_feats must both be (K, D), '
                             f'got {tuple(point_feats.shape)} and {tuple(pixel_feats.shape)}')
        if self.normalize:
            point_feats = F.normalize(point_feats, dim=1)
            pixel_feats = F.normalize(pixel_feats, dim=1)
        logits = point_feats @ pixel_feats.t() / self.temperature               # (K, K)
        targets = torch.arange(len(logits), device=logits.device)
        return self.loss_weight * F.cross_entropy(logits, targets)
