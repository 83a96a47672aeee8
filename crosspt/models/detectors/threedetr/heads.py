"""3DETR box heads, shared by every decoder layer."""
from typing import Dict, Sequence

from torch import Tensor, nn

from ..threedetr_criterion import bin_to_angle
from .layers import conv_mlp

HEAD_KEYS = ('sem_cls_logits', 'sem_cls_prob', 'objectness_prob', 'center_normalized',
             'center_unnormalized', 'size_normalized', 'size_unnormalized', 'angle_logits',
             'angle_residual_normalized', 'angle_continuous')


class ThreeDETRHeads(nn.Module):
    """Box prediction heads shared by all decoder layers.

    Keys: ``{sem_cls,center,size,angle_cls,angle_reg}.{j}.{conv,bn}.*``.

    Args:
        num_classes: K (the class head has K + 1 outputs, last = no object).
        d_model: decoder width.
        hidden: hidden widths of every head MLP ((256, 256)).
        dropout: head dropout (0.3).
        num_angle_bins: heading bins (1: angle forced to 0).
    """

    def __init__(self, num_classes: int, d_model: int = 256, hidden: Sequence[int] = (256, 256),
                 dropout: float = 0.3, num_angle_bins: int = 1) -> None:
        super().__init__()
        self.num_classes, self.num_angle_bins = int(num_classes), int(num_angle_bins)
        if self.num_angle_bins < 1:
            raise ValueError(f'ThreeDETRHeads: num_angle_bins must be >= 1, got {num_angle_bins}')

        def head(out: int) -> nn.Sequential:
            return conv_mlp(d_model, hidden, out, norm=True, dropout=dropout)

        self.sem_cls = head(self.num_classes + 1)
        self.center = head(3)
        self.size = head(3)
        self.angle_cls = head(self.num_angle_bins)
        self.angle_reg = head(self.num_angle_bins)

    def forward(self, hs: Tensor, query_xyz: Tensor, scene_min: Tensor,
                scene_extent: Tensor) -> Dict[str, Tensor]:
        """Decode boxes from every layer's query features.

        Args:
            hs: (L, B, Q, D) decoder outputs.
            query_xyz: (B, Q, 3) query positions in metres.
            scene_min, scene_extent: (B, 3) (extent already clamped).
        Returns:
            dict of (L, B, Q, ...) tensors, keys :data:`HEAD_KEYS`: ``sem_cls_logits (K+1)``,
            ``sem_cls_prob (K)`` (softmax over K + 1, no-object column dropped),
            ``objectness_prob ()``, ``center_normalized (3)``, ``center_unnormalized (3)``,
            ``size_normalized (3)``, ``size_unnormalized (3)``, ``angle_logits (n_bins)``,
            ``angle_residual_normalized (n_bins)``, ``angle_continuous ()`` (radians).
        """
        nl, b, q, d = hs.shape
        x = hs.reshape(nl * b, q, d).transpose(1, 2)                             # (LB, D, Q)

        def run(head: nn.Module) -> Tensor:
            return head(x).transpose(1, 2).reshape(nl, b, q, -1)

        logits = run(self.sem_cls)
        center_unnorm = query_xyz[None] + (run(self.center).sigmoid() - 0.5)
        center_norm = (center_unnorm - scene_min[None, :, None]) / scene_extent[None, :, None]
        size_norm = run(self.size).sigmoid()
        size_unnorm = size_norm * scene_extent[None, :, None]
        angle_logits = run(self.angle_cls)
        angle_res = run(self.angle_reg)
        if self.num_angle_bins == 1:
            angle = center_unnorm.new_zeros(nl, b, q)
        else:
            cls = angle_logits.argmax(-1, keepdim=True)
            angle = bin_to_angle(cls.squeeze(-1), angle_res.gather(-1, cls).squeeze(-1),
                                 self.num_angle_bins)
        prob = logits.softmax(-1)
        return dict(sem_cls_logits=logits, sem_cls_prob=prob[..., :-1],
                    objectness_prob=1 - prob[..., -1], center_normalized=center_norm,
                    center_unnormalized=center_unnorm, size_normalized=size_norm,
                    size_unnormalized=size_unnorm, angle_logits=angle_logits,
                    angle_residual_normalized=angle_res, angle_continuous=angle)
