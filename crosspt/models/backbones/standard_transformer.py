"""Point-BERT "standard Transformer" as TAP uses it (docs/methods/tap.md, 'Standard
Transformer'; Point-BERT's own: docs/methods/benchmarks.md, 'Point-BERT standard Transformer').

One self-contained file.  Parameter names follow the public TAP code so released weights
map by name: ``encoder.first_conv.*``, ``encoder.second_conv.*``, ``reduce_dim.*``,
``cls_token``, ``cls_pos``, ``pos_embed.{0,2}.*``,
``blocks.blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*`` and ``norm.*``
(note the nested ``blocks.blocks``).

Pipeline for ``points (B, N, 3)``:

1. ``G`` centres by furthest point sampling, then a ball query (radius ``group_radius``,
   ``group_size`` points) around each centre; neighbourhoods are expressed relative to
   their centre: ``(B, G, K, 3)``.  TAP's Point-BERT variant uses a ball query where
   Point-BERT itself uses kNN.
2. Mini-PointNet per group -> ``(B, G, encoder_dims)`` -> ``reduce_dim`` -> ``(B, G, D)``.
3. Prepend the cls token; positions = ``[cls_pos, pos_embed(centres)]``.
4. ``depth`` pre-LN blocks, positions re-added before every block (``x = block(x + pos)``),
   then the final LayerNorm ``norm``.

Output dict: ``centers (B, G, 3)``, ``features (B, G, D)`` (tokens without the cls token,
after ``norm``) and ``global_features (B, 2D)`` = ``cat(cls output, max over tokens)``.
Only the xyz of the points is encoded (as in TAP): ``features`` is checked for shape and
accepted for the common backbone interface, but does not enter the tokens.
"""
import warnings
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from crosspt.ops import ball_query, furthest_point_sample, gather_points, group_points
from crosspt.registry import MODELS

BALL_QUERY_MODES = ('first', 'nearest')


def drop_path(x: Tensor, drop_prob: float = 0.0, training: bool = False,
              generator: Optional[torch.Generator] = None) -> Tensor:
    """Stochastic depth: zero whole samples of ``x (B, ...)`` with probability ``drop_prob``.

    Kept samples are scaled by ``1 / (1 - drop_prob)`` so the expectation is unchanged.
    Sample ``b`` is kept when ``u_b < 1 - drop_prob`` with ``u = torch.rand(B)`` (drawn from
    ``generator`` when given).  Identity when not training or ``drop_prob == 0``.
    """
    if not training or drop_prob == 0.0:
        return x
    if not 0.0 <= drop_prob < 1.0:
        raise ValueError(f'drop_path: drop_prob must be in [0, 1), got {drop_prob}')
    keep_prob = 1.0 - drop_prob
    device = x.device if generator is None else generator.device
    u = torch.rand(x.shape[0], generator=generator, dtype=torch.float32, device=device)
    mask = (u < keep_prob).to(device=x.device, dtype=x.dtype)
    mask = mask.view(x.shape[0], *([1] * (x.dim() - 1)))
    return x * mask / keep_prob


class DropPath(nn.Module):
    """Module wrapper of :func:`drop_path` (per-sample, scaled, identity in eval)."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f'DropPath: drop_prob must be in [0, 1), got {drop_prob}')
        self.drop_prob = float(drop_prob)

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob:.4f}'


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2`` on ``(B, L, D)``."""

    def __init__(self, dims: int, hidden_dims: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Multi-head self-attention on ``(B, L, D)``: fused ``qkv`` (no bias) and ``proj``.

    ``qkv(x)`` is split as ``(3, heads, head_dim)`` along the channels; the output is
    ``proj(concat_h softmax(q_h k_h^T / sqrt(head_dim)) v_h)``.
    """

    def __init__(self, dims: int, num_heads: int, qkv_bias: bool = False) -> None:
        super().__init__()
        if dims % num_heads != 0:
            raise ValueError(f'Attention: embed_dims={dims} must be divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.head_dims = dims // num_heads
        self.qkv = nn.Linear(dims, 3 * dims, bias=qkv_bias)
        self.proj = nn.Linear(dims, dims)

    def forward(self, x: Tensor) -> Tensor:
        b, length, d = x.shape
        qkv = self.qkv(x).view(b, length, 3, self.num_heads, self.head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)                 # each (B, H, L, hd)
        out = F.scaled_dot_product_attention(q, k, v)                   # scale 1/sqrt(hd)
        return self.proj(out.transpose(1, 2).reshape(b, length, d))


class Block(nn.Module):
    """Pre-LN transformer block: ``x + dp(attn(norm1(x)))``, then ``x + dp(mlp(norm2(x)))``."""

    def __init__(self, dims: int, num_heads: int, mlp_ratio: float = 4.0,
                 qkv_bias: bool = False, drop_path_prob: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dims)
        self.attn = Attention(dims, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp = Mlp(dims, int(dims * mlp_ratio))
        self.drop_path = DropPath(drop_path_prob) if drop_path_prob > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class TransformerBlocks(nn.Module):
    """Stack of blocks; ``pos`` is added to the input of every block (Point-BERT)."""

    def __init__(self, dims: int, depth: int, num_heads: int, mlp_ratio: float,
                 qkv_bias: bool, drop_path_probs: List[float]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([
            Block(dims, num_heads, mlp_ratio, qkv_bias, drop_path_probs[i])
            for i in range(depth)])

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x + pos)
        return x


class MiniPointNet(nn.Module):
    """Group encoder ``(B, G, K, 3) -> (B, G, out_dims)``.

    ``first_conv``: Conv1d(3,128)-BN-ReLU-Conv1d(128,256), max over K, concatenate the
    group max to every point -> 512; ``second_conv``: Conv1d(512,512)-BN-ReLU-
    Conv1d(512,out_dims), max over K.
    """

    def __init__(self, out_dims: int = 256) -> None:
        super().__init__()
        self.out_dims = out_dims
        self.first_conv = nn.Sequential(
            nn.Conv1d(3, 128, 1), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Conv1d(128, 256, 1))
        self.second_conv = nn.Sequential(
            nn.Conv1d(512, 512, 1), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
            nn.Conv1d(512, out_dims, 1))

    def forward(self, groups: Tensor) -> Tensor:
        b, g, k, c = groups.shape
        x = self.first_conv(groups.reshape(b * g, k, c).transpose(1, 2))   # (BG, 256, K)
        glob = x.max(dim=2, keepdim=True).values                           # (BG, 256, 1)
        x = torch.cat([glob.expand(-1, -1, k), x], dim=1)                  # (BG, 512, K)
        x = self.second_conv(x).max(dim=2).values                          # (BG, out)
        return x.view(b, g, self.out_dims)


@MODELS.register_module()
class StandardTransformer(BaseModule):
    """Point-BERT standard Transformer with TAP's grouping (FPS 256 + ball query r=0.1, 32).

    Registered as ``StandardTransformer``; the former name ``PointTransformer`` (easily
    taken for Zhao et al.'s Point Transformer, a different network) still builds this
    class with a ``DeprecationWarning`` (:func:`deprecated_point_transformer`).

    Args:
        in_channels: channels of ``features`` (TAP: 3, xyz only; checked, not encoded).
        embed_dims: transformer width D (384).
        depth: number of blocks (12).
        num_heads: attention heads (6).
        mlp_ratio: MLP hidden width / D (4).
        qkv_bias: bias in the fused qkv projection (False).
        drop_path_rate: last block's drop-path rate; linspace(0, rate, depth) over blocks.
        num_groups: G, FPS centres (256).
        group_size: K, points per ball (32).
        group_radius: ball radius (0.1), on the raw (not normalised) coordinates.
        encoder_dims: mini-PointNet output width (256).
        ball_query_mode: ``'first'`` (PointNet++ CUDA kernel, which TAP's grouping uses:
            the first K hits in point order) or ``'nearest'`` (the K nearest hits).
            Short balls are padded with the first hit; an empty ball falls back to the
            nearest point (``crosspt.ops.ball_query``).
        init_cfg: mmengine init config.  Without it the layers keep PyTorch's default
            initialisation, ``cls_token`` is zeros and ``cls_pos`` standard normal (TAP).
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dims: int = 384,
                 depth: int = 12,
                 num_heads: int = 6,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = False,
                 drop_path_rate: float = 0.1,
                 num_groups: int = 256,
                 group_size: int = 32,
                 group_radius: float = 0.1,
                 encoder_dims: int = 256,
                 ball_query_mode: str = 'first',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if ball_query_mode not in BALL_QUERY_MODES:
            raise ValueError(f'StandardTransformer: ball_query_mode must be one of '
                             f'{BALL_QUERY_MODES}, got {ball_query_mode!r}')
        if depth < 1 or num_groups < 1 or group_size < 1 or group_radius <= 0:
            raise ValueError(f'StandardTransformer: need depth, num_groups, group_size >= 1 and '
                             f'group_radius > 0, got depth={depth}, num_groups={num_groups}, '
                             f'group_size={group_size}, group_radius={group_radius}')
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(f'StandardTransformer: drop_path_rate must be in [0, 1), got '
                             f'{drop_path_rate}')
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.num_groups = num_groups
        self.group_size = group_size
        self.group_radius = group_radius
        self.ball_query_mode = ball_query_mode
        self.out_channels = 2 * embed_dims
        self.global_channels = 2 * embed_dims  # cat(cls token, max over tokens)

        self.encoder = MiniPointNet(encoder_dims)
        self.reduce_dim = nn.Linear(encoder_dims, embed_dims)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.cls_pos = nn.Parameter(torch.randn(1, 1, embed_dims))
        self.pos_embed = nn.Sequential(
            nn.Linear(3, 128), nn.GELU(), nn.Linear(128, embed_dims))
        # linspace(0, rate, depth) in Python floats (no tensor: builds on the meta device)
        rates = [drop_path_rate * i / (depth - 1) if depth > 1 else 0.0 for i in range(depth)]
        self.blocks = TransformerBlocks(embed_dims, depth, num_heads, mlp_ratio, qkv_bias,
                                        rates)
        self.norm = nn.LayerNorm(embed_dims)

    def group(self, points: Tensor):
        """FPS centres and centre-relative ball neighbourhoods.

        Args:
            points: (B, N, 3).
        Returns:
            centers (B, G, 3), neighborhoods (B, G, K, 3) = points[idx] - centre,
            idx (B, G, K) int64.
        """
        center_idx = furthest_point_sample(points.detach(), self.num_groups)
        centers = gather_points(points, center_idx)                         # (B, G, 3)
        idx = ball_query(centers.detach(), points.detach(), self.group_radius,
                         self.group_size, mode=self.ball_query_mode)        # (B, G, K)
        neighborhoods = group_points(points, idx) - centers.unsqueeze(2)    # (B, G, K, 3)
        return centers, neighborhoods, idx

    def forward(self, points: Tensor, features: Tensor) -> Dict[str, Tensor]:
        """points (B, N, 3), features (B, N, C_in) -> dict(centers, features, global_features).

        Returns ``centers (B, G, 3)``, ``features (B, G, D)`` and ``global_features (B, 2D)``.
        """
        if not isinstance(points, Tensor) or points.dim() != 3 or points.shape[-1] != 3:
            shape = tuple(points.shape) if isinstance(points, Tensor) else type(points).__name__
            raise ValueError(f'StandardTransformer: points must be (B, N, 3), got {shape}')
        if points.shape[1] < self.num_groups:
            raise ValueError(f'StandardTransformer: points has N={points.shape[1]} points, fewer '
                             f'than num_groups={self.num_groups}')
        if (not isinstance(features, Tensor) or features.dim() != 3
                or features.shape[:2] != points.shape[:2]
                or features.shape[-1] != self.in_channels):
            shape = tuple(features.shape) if isinstance(features, Tensor) \
                else type(features).__name__
            raise ValueError(
                f'StandardTransformer: features must be (B, N, {self.in_channels}) matching '
                f'points {tuple(points.shape)}, got {shape}')
        centers, neighborhoods, _ = self.group(points.contiguous())
        tokens = self.reduce_dim(self.encoder(neighborhoods))              # (B, G, D)
        b = tokens.shape[0]
        x = torch.cat([self.cls_token.expand(b, -1, -1), tokens], dim=1)   # (B, 1+G, D)
        pos = torch.cat([self.cls_pos.expand(b, -1, -1), self.pos_embed(centers)], dim=1)
        x = self.norm(self.blocks(x, pos))
        cls_out, token_out = x[:, 0], x[:, 1:]
        global_features = torch.cat([cls_out, token_out.max(dim=1).values], dim=-1)
        return dict(centers=centers, features=token_out, global_features=global_features)


#: the warning of the deprecated registry / import name ``PointTransformer``
POINT_TRANSFORMER_DEPRECATION = (
    "'PointTransformer' is deprecated and will be removed: the Point-BERT standard "
    "Transformer backbone is now named 'StandardTransformer' (type='StandardTransformer' "
    "in configs, crosspt.models.backbones.StandardTransformer in code); the weights and "
    "state-dict keys are unchanged.")


@MODELS.register_module(name='PointTransformer')
def deprecated_point_transformer(**kwargs) -> StandardTransformer:
    """Deprecated registry name ``PointTransformer``: warns (``DeprecationWarning``) and
    builds :class:`StandardTransformer` with the same arguments."""
    warnings.warn(POINT_TRANSFORMER_DEPRECATION, DeprecationWarning, stacklevel=2)
    return StandardTransformer(**kwargs)
