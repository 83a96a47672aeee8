"""Parameter counts of each backbone's classification model (the benchmark configs)
against published figures.

Only PointMLP's figure comes from a checked source (docs/methods/benchmarks.md, 'Parameter
counts': paper "12.6M", which is the numel count divided by 2**20).  The others are the
commonly quoted sizes (DGCNN 1.8M, PointNet++ SSG 1.5M, Point-BERT's standard Transformer
22.1M), labelled [UNVERIFIED].  Tolerance: the published figures are rounded to one
decimal, so a count matches when it rounds to the figure (|count - figure| <= 0.05 units).
"""
import pytest
import torch
from mmengine.config import Config

import crosspt.models  # noqa: F401
from crosspt.registry import MODELS

CONFIGS = 'configs/tap/benchmarks/{}_ft_scanobjectnn-pb-t50-rs.py'


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build(backbone: str, num_classes: int):
    cfg = Config.fromfile(CONFIGS.format(backbone))
    cfg.model.backbone.init_cfg = None
    cfg.model.head.num_classes = num_classes
    return MODELS.build(cfg.model)


def test_pointmlp_matches_the_paper_in_units_of_2_pow_20():
    model = build('pointmlp', 40)
    assert abs(count(model) / 2 ** 20 - 12.6) <= 0.05          # paper: 12.6M
    assert abs(count(model) / 1e6 - 13.2) <= 0.05               # 13.2M counted with numel


@pytest.mark.parametrize('backbone,num_classes,figure', [
    ('dgcnn', 40, 1.8),        # DGCNN paper table [UNVERIFIED]
    ('pointnet2', 40, 1.5),    # PointNet++ SSG as quoted by PointNeXt [UNVERIFIED]
])
def test_other_classifiers_match_quoted_sizes(backbone, num_classes, figure):
    assert abs(count(build(backbone, num_classes)) / 1e6 - figure) <= 0.05


def test_transformer_with_point_bert_head_matches_22_1m():
    """Point-BERT's 22.1M [UNVERIFIED] is the encoder plus its own head
    (Linear 768-256, BN, ReLU, Dropout, Linear 256-40), not TAP's 512-256 ClsHead."""
    encoder = build('transformer', 40).backbone
    point_bert_head = torch.nn.Sequential(
        torch.nn.Linear(768, 256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(),
        torch.nn.Dropout(0.5), torch.nn.Linear(256, 40))
    assert abs((count(encoder) + count(point_bert_head)) / 1e6 - 22.1) <= 0.05


def test_tap_heads_differ_only_by_the_head_layer_table():
    """Independent recount of TAP's ClsHead (docs/methods/tap.md, 'Classification head'):
    Linear(C,512,no bias)+BN,
    Linear(512,256,no bias)+BN, Linear(256,K)."""
    for backbone, width in (('pointmlp', 1024), ('pointnet2', 1024), ('dgcnn', 2048),
                            ('transformer', 768)):
        model = build(backbone, 15)
        head = width * 512 + 2 * 512 + 512 * 256 + 2 * 256 + 256 * 15 + 15
        assert count(model.head) == head, backbone
