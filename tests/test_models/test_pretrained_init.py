"""init_cfg=dict(type='Pretrained') under crosspt's scope: reports, and refuses to load
nothing or mismatched shapes."""
import pytest
import torch
from mmengine.registry import DefaultScope

from crosspt.models.backbones import PointMLP

ELITE = dict(embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
             pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1))


def build(checkpoint, prefix='backbone.', **kwargs):
    return PointMLP(**{**ELITE, **kwargs},
                    init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint), prefix=prefix))


@pytest.fixture
def crosspt_scope():
    with DefaultScope.overwrite_default_scope('crosspt'):
        yield


def test_loads_backbone_and_reports(tmp_path, crosspt_scope, key_reports):
    source = PointMLP(**ELITE)
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in source.state_dict().items()},
                    meta=dict(epoch=1)), tmp_path / 'ok.pth')
    model = build(tmp_path / 'ok.pth')
    model.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    out = '\n'.join(key_reports)
    n = len(source.state_dict())
    assert f'loaded {n}/{n} tensors; missing 0; unexpected 0' in out


def test_official_model_layout_and_partial_report(tmp_path, crosspt_scope, key_reports):
    source = PointMLP(**ELITE)
    state = {k: v for k, v in source.state_dict().items() if not k.startswith('embedding')}
    state['extra.weight'] = torch.zeros(1)
    torch.save(dict(model=state), tmp_path / 'clean.pth')     # TAP "_clean.pth" layout
    build(tmp_path / 'clean.pth', prefix=None).init_weights()
    out = '\n'.join(key_reports)
    assert 'missing 6' in out and 'embedding.net.0.weight' in out and "unexpected 1 ['extra.weight']" in out


def test_loading_nothing_or_wrong_shapes_raises(tmp_path, crosspt_scope):
    torch.save(dict(state_dict={'backbone.encoder.w': torch.zeros(3)}), tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match='loads nothing into PointMLP'):
        build(tmp_path / 'bad.pth').init_weights()
    with pytest.raises(KeyError, match="no tensor key starts with 'head.'"):
        build(tmp_path / 'bad.pth', prefix='head.').init_weights()
    source = PointMLP(**{**ELITE, 'in_channels': 3})
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in source.state_dict().items()}),
               tmp_path / 'other.pth')
    with pytest.raises(ValueError, match=r'embedding.net.0.weight: checkpoint \(32, 3, 1\)'):
        build(tmp_path / 'other.pth').init_weights()


def test_ignore_keys_skips_the_input_embedding(tmp_path, crosspt_scope, key_reports):
    """Part segmentation: 6-d input vs the pre-trained 4-d embedding (docs/methods/tap.md,
    'ShapeNetPart fine-tuning')."""
    source = PointMLP(**ELITE)                       # in_channels 4
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in source.state_dict().items()}),
               tmp_path / 'ckpt.pth')
    with pytest.raises(ValueError, match='embedding.net.0.weight'):
        build(tmp_path / 'ckpt.pth', in_channels=6).init_weights()
    model = PointMLP(**ELITE, in_channels=6, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'ckpt.pth'), prefix='backbone.',
        ignore_keys=['embedding.net.0.weight']))
    before = model.embedding.net[0].weight.clone()
    model.init_weights()
    torch.testing.assert_close(model.embedding.net[0].weight, before)   # untouched
    torch.testing.assert_close(model.pre_blocks_list[0].transfer.net[0].weight,
                               source.pre_blocks_list[0].transfer.net[0].weight)
    assert any('ignore_keys' in m for m in key_reports)
    assert any('missing 1' in m and 'embedding.net.0.weight' in m for m in key_reports)
    typo = PointMLP(**ELITE, in_channels=6, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'ckpt.pth'), prefix='backbone.',
        ignore_keys=['embeding.net.0.weight']))
    with pytest.raises(KeyError, match='embeding.net.0.weight'):
        typo.init_weights()


@pytest.mark.parametrize('checkpoint', ['none', ''])
def test_missing_checkpoint_says_how_to_give_one(crosspt_scope, checkpoint):
    model = build(checkpoint)
    with pytest.raises(ValueError, match='CROSSPT_PRETRAINED'):
        model.init_weights()
