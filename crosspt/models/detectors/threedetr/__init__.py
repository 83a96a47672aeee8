"""3DETR: an end-to-end Transformer detector for 3D point clouds (Misra et al., ICCV 2021).

Implements docs/methods/3detr.md ('Model' to 'Evaluation'); every number there is a
constructor argument with that value as default.  Pure PyTorch on ``crosspt.ops``.

Pipeline (shapes for the ScanNet defaults, ``B`` scenes of ``N`` points with ``C`` extra
feature channels after xyz):

1. :class:`ThreeDETREncoder` (usable alone as a backbone):
   pre-encoder set abstraction (FPS 2048 centres, ball radius 0.2, 64 neighbours, MLP
   3 + C -> 64 -> 128 -> 256 on ``[(p_j - p_i) / r, f_j]``, max-pool) then 3 pre-norm
   Transformer encoder layers (d 256, 4 heads, FFN 128, dropout 0.1, no positional
   embedding).  The masked variant (3DETR-m) restricts attention in layer ``i`` to points
   closer than ``masking_radius[i]`` and down-samples 2048 -> 1024 tokens with a second set
   abstraction (radius 0.4, 32 neighbours, MLP 256 + 3 -> 256 -> 256 -> 256) after layer 0.
2. encoder -> decoder projection: 1x1 conv MLP with BatchNorm + ReLU (hidden [256, 256]
   vanilla, [256] masked; output 256).
3. queries: FPS of ``nqueries`` (256) encoder points from any start (bucket FPS on CPU);
   Fourier positional encoding of the query xyz (normalised to [0, 1] by the scene
   min/max, times 2 pi, projected by a fixed N(0, 1) matrix ``B (3, 128)`` kept as a
   buffer, ``[sin, cos]`` -> 256) through an MLP 256 -> 256 -> 256 with ReLU; memory
   positions are the same encoding of the encoder xyz; the decoder input starts at zeros.
4. decoder: 8 pre-norm layers (d 256, 4 heads, FFN 256, dropout 0.1); the final LayerNorm
   is applied to every layer output, and all of them go through the heads.
5. heads (shared by all layers, 1x1 conv MLP 256 -> 256 -> 256 -> out with BatchNorm, ReLU,
   dropout 0.3): class logits (K + 1, last = no object), centre offset
   ``sigmoid - 0.5`` added to the query xyz in metres, size ``sigmoid * scene extent``
   (extent clamped >= 0.1), heading-bin logits and normalised residuals (``n_bins``;
   ScanNet 1 bin, angle forced to 0).  Objectness = 1 - p(no object).

:class:`ThreeDETRDetector` (an mmengine ``BaseModel``) ties these together with
:class:`~crosspt.models.detectors.threedetr_criterion.ThreeDETRCriterion` and the 3DETR
post-processing.  Its batch format is independent of mmdet3d (see
:meth:`ThreeDETRDetector.forward`).

Modules: :mod:`.layers` (set abstraction, conv MLPs, radius mask), :mod:`.transformer`
(encoder / decoder layers, decoder stack, Fourier embedding), :mod:`.encoder`,
:mod:`.heads`, :mod:`.post_process` (empty-box removal, NMS) and :mod:`.detector`.
"""
from .detector import ThreeDETRDetector, unpack_det_samples
from .encoder import ThreeDETREncoder
from .heads import HEAD_KEYS, ThreeDETRHeads
from .layers import ConvBlock1d, PointSetAbstraction, conv_mlp, radius_attention_mask
from .post_process import (DEFAULT_TEST_CFG, aligned_nms_3d, points_in_boxes_count,
                           threedetr_post_process)
from .transformer import (DecoderLayer, EncoderLayer, FourierPositionEmbedding,
                          ThreeDETRDecoder)

__all__ = ['ThreeDETRDetector', 'ThreeDETREncoder', 'ThreeDETRDecoder', 'ThreeDETRHeads',
           'FourierPositionEmbedding', 'EncoderLayer', 'DecoderLayer', 'PointSetAbstraction',
           'ConvBlock1d', 'conv_mlp', 'radius_attention_mask', 'aligned_nms_3d',
           'points_in_boxes_count', 'threedetr_post_process', 'unpack_det_samples',
           'HEAD_KEYS', 'DEFAULT_TEST_CFG']
