"""3DETR's pre-norm Transformer layers, the decoder stack and the Fourier positional
embedding of the queries (docs/methods/3detr.md, 'Model')."""
import math
from typing import Optional

import torch
from torch import Tensor, nn

from .layers import _activation


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer on ``(B, L, D)`` (no positional embedding)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str = 'relu') -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                               batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        """x (B, L, D); attn_mask (B * nhead, L, L) bool (True = blocked) or None."""
        h = self.norm1(x)
        x = x + self.dropout1(self.self_attn(h, h, h, attn_mask=attn_mask,
                                             need_weights=False)[0])
        h = self.norm2(x)
        return x + self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(h)))))


class DecoderLayer(nn.Module):
    """Pre-norm Transformer decoder layer on ``(B, Q, D)`` queries and ``(B, M, D)`` memory.

    Self-attention uses ``q = k = LN(tgt) + query_pos``, ``v = LN(tgt)``; cross-attention
    ``q = LN(tgt) + query_pos``, ``k = memory + pos``, ``v = memory``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str = 'relu') -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                               batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                                batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, tgt: Tensor, memory: Tensor, query_pos: Tensor, pos: Tensor) -> Tensor:
        h = self.norm1(tgt)
        q = h + query_pos
        tgt = tgt + self.dropout1(self.self_attn(q, q, h, need_weights=False)[0])
        h = self.norm2(tgt)
        tgt = tgt + self.dropout2(self.cross_attn(h + query_pos, memory + pos, memory,
                                                  need_weights=False)[0])
        h = self.norm3(tgt)
        return tgt + self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(h)))))


class ThreeDETRDecoder(nn.Module):
    """Stack of :class:`DecoderLayer` returning every layer's output after the final norm.

    Keys: ``layers.{i}.*``, ``norm.*``.
    """

    def __init__(self, num_layers: int = 8, d_model: int = 256, nhead: int = 4,
                 dim_feedforward: int = 256, dropout: float = 0.1,
                 activation: str = 'relu') -> None:
        super().__init__()
        if int(num_layers) < 1:
            raise ValueError(f'ThreeDETRDecoder: num_layers must be >= 1, got {num_layers}')
        self.layers = nn.ModuleList(DecoderLayer(d_model, nhead, dim_feedforward, dropout,
                                                 activation) for _ in range(int(num_layers)))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, tgt: Tensor, memory: Tensor, query_pos: Tensor, pos: Tensor) -> Tensor:
        """tgt, query_pos (B, Q, D); memory, pos (B, M, D) -> (num_layers, B, Q, D)."""
        outputs = []
        for layer in self.layers:
            tgt = layer(tgt, memory, query_pos, pos)
            outputs.append(self.norm(tgt))
        return torch.stack(outputs)


class FourierPositionEmbedding(nn.Module):
    """Random Fourier features of xyz normalised to the scene box.

    ``emb = [sin(2 pi x' B), cos(2 pi x' B)]`` with ``x' = (x - scene_min) / extent`` in
    [0, 1] and ``B (3, dim / 2)`` drawn once from ``N(0, scale^2)`` with a fixed seed;
    ``B`` is a (non-trainable) buffer, saved in the state dict as ``gauss_B``.
    """

    def __init__(self, dim: int = 256, in_dims: int = 3, scale: float = 1.0,
                 seed: int = 0) -> None:
        super().__init__()
        if int(dim) % 2:
            raise ValueError(f'FourierPositionEmbedding: dim must be even, got {dim}')
        generator = torch.Generator().manual_seed(int(seed))
        self.dim = int(dim)
        self.register_buffer('gauss_B', torch.randn(int(in_dims), self.dim // 2,
                                                    generator=generator) * float(scale))

    def forward(self, xyz: Tensor, scene_min: Tensor, scene_extent: Tensor) -> Tensor:
        """xyz (B, N, 3), scene_min / scene_extent (B, 3) -> (B, N, dim)."""
        normed = (xyz - scene_min[:, None]) / scene_extent[:, None]
        proj = (2 * math.pi * normed) @ self.gauss_B.to(xyz.dtype)
        return torch.cat([proj.sin(), proj.cos()], dim=-1)
