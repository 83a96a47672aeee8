"""TAP photograph module: queries attend to the point memory and become view features.

- ``TAPMemoryBuilder``: ``MLP([backbone features, centres])`` -> memory ``(B, M, D)``
  (``Linear(C+3, C+3) - GELU - Linear(C+3, D)``); optionally one learnable pad token is
  appended (the paper's pad token; off by default because the released code never uses
  its ``pad_memory`` parameter).
- ``TAPPhotographModule``: ``Linear(8, 8) - GELU - Linear(8, D)`` on the queries, then
  ``depth`` pre-LN blocks of self-attention (within a view), cross-attention to the
  memory, and a GEGLU feed-forward; output ``(B*V, D, S, S)``.

The memory is shared by all V views of an object, and attention is independent per
query, so cross-attention runs once per object with the V*S*S queries of its views
(the same result as repeating the memory V times, at 1/V of the key/value cost).
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from crosspt.registry import MODELS


class TwoLayerMLP(nn.Module):
    """``fc1 - GELU - fc2`` with ``hidden = in_features`` unless given."""

    def __init__(self, in_features: int, out_features: int,
                 hidden_features: Optional[int] = None) -> None:
        super().__init__()
        hidden = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class MultiHeadAttention(nn.Module):
    """Attention with bias-free q/k/v projections to ``heads * head_dims`` channels."""

    def __init__(self, dims: int, num_heads: int, head_dims: int, dropout: float) -> None:
        super().__init__()
        inner = num_heads * head_dims
        self.num_heads = num_heads
        self.to_q = nn.Linear(dims, inner, bias=False)
        self.to_k = nn.Linear(dims, inner, bias=False)
        self.to_v = nn.Linear(dims, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dims), nn.Dropout(dropout))

    def _split(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, -1).transpose(1, 2)       # (B, H, n, d)

    def forward(self, x: Tensor, context: Optional[Tensor] = None) -> Tensor:
        """x (B, n, D), context (B, m, D) or None (self-attention) -> (B, n, D)."""
        context = x if context is None else context
        out = F.scaled_dot_product_attention(
            self._split(self.to_q(x)), self._split(self.to_k(context)),
            self._split(self.to_v(context)))
        return self.to_out(out.transpose(1, 2).flatten(2))


class GEGLU(nn.Module):
    """``x * GELU(gate)`` with ``[x, gate] = proj(input)``."""

    def __init__(self, in_dims: int, out_dims: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dims, 2 * out_dims)

    def forward(self, x: Tensor) -> Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dims: int, ratio: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(GEGLU(dims, dims * ratio), nn.Dropout(dropout),
                                 nn.Linear(dims * ratio, dims))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PhotographBlock(nn.Module):
    """Pre-LN: self-attention, cross-attention to memory, GEGLU FFN (no drop-path)."""

    def __init__(self, dims: int, num_heads: int, head_dims: int, ffn_ratio: int,
                 dropout: float) -> None:
        super().__init__()
        self.attn1 = MultiHeadAttention(dims, num_heads, head_dims, dropout)
        self.attn2 = MultiHeadAttention(dims, num_heads, head_dims, dropout)
        self.ff = FeedForward(dims, ffn_ratio, dropout)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dims), nn.LayerNorm(dims), nn.LayerNorm(dims)

    def forward(self, x: Tensor, memory: Tensor, num_views: int) -> Tensor:
        """x (B*V, Q, D), memory (B, M, D) -> (B*V, Q, D)."""
        bv, q, d = x.shape
        x = x + self.attn1(self.norm1(x))
        per_object = self.norm2(x).reshape(bv // num_views, num_views * q, d)
        x = x + self.attn2(per_object, memory).reshape(bv, q, d)
        return x + self.ff(self.norm3(x))


@MODELS.register_module()
class TAPMemoryBuilder(BaseModule):
    """(features (B, M, C), centers (B, M, 3)) -> memory (B, M[+1], D)."""

    def __init__(self, in_channels: int, embed_dims: int = 256, use_pad_token: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.mlp = TwoLayerMLP(in_channels + 3, embed_dims)
        self.pad_token = nn.Parameter(torch.zeros(1, 1, embed_dims)) if use_pad_token else None

    def forward(self, features: Tensor, centers: Tensor) -> Tensor:
        if features.shape[-1] != self.in_channels:
            raise ValueError(
                f'TAPMemoryBuilder: in_channels={self.in_channels} but the backbone gives '
                f'{features.shape[-1]}-d features; set memory_builder.in_channels accordingly')
        memory = self.mlp(torch.cat([features, centers.to(features.dtype)], dim=-1))
        if self.pad_token is not None:
            memory = torch.cat([memory, self.pad_token.expand(memory.shape[0], -1, -1)], dim=1)
        return memory


@MODELS.register_module()
class TAPPhotographModule(BaseModule):
    """queries (B*V, S*S, 8) + memory (B, M, D) -> view features (B*V, D, S, S).

    ``with_cp=True`` (training only) keeps only each block's input for backward and
    recomputes the block (torch.utils.checkpoint, dropout masks replayed from the saved
    RNG state): the 1024-wide q/k/v and GEGLU activations of every block are freed, for
    one more forward of the blocks.
    """

    def __init__(self, embed_dims: int = 256, query_dims: int = 8, depth: int = 6,
                 num_heads: int = 32, head_dims: int = 32, ffn_ratio: int = 4,
                 dropout: float = 0.1, with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        self.query_mlp = TwoLayerMLP(query_dims, embed_dims)
        self.blocks = nn.ModuleList([
            PhotographBlock(embed_dims, num_heads, head_dims, ffn_ratio, dropout)
            for _ in range(depth)])

    def forward(self, queries: Tensor, memory: Tensor) -> Tensor:
        bv, num_queries, _ = queries.shape
        if bv % memory.shape[0]:
            raise ValueError(f'TAPPhotographModule: {bv} query sets are not a multiple of '
                             f'{memory.shape[0]} memories')
        num_views = bv // memory.shape[0]
        x = self.query_mlp(queries)
        recompute = self.with_cp and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            x = checkpoint(block, x, memory, num_views, use_reentrant=False) if recompute \
                else block(x, memory, num_views)
        # int(): under the JIT tracer (tools/analysis_tools/get_flops.py) sizes are tensors
        side = math.isqrt(int(num_queries))
        if side * side != num_queries:
            raise ValueError(f'TAPPhotographModule: {int(num_queries)} queries per view do '
                             'not form a square S x S grid')
        return x.view(bv, side, side, -1).permute(0, 3, 1, 2).contiguous()
