"""tools/model_converters/tap_to_crosspt.py: official TAP (openpoints) checkpoints -> crosspt.

The source state dicts are written out here from the official key names and layer tables
(docs/methods/tap.md, 'Backbones', 'Classification head' and 'Checkpoints' for PointMLP,
the Transformer and the classifier; the public openpoints
source for PointNet++ and DGCNN), not derived from crosspt's modules.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope

import crosspt.models  # noqa: F401
import crosspt.models.backbones.dgcnn  # noqa: F401  (registers DGCNN)
from crosspt.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'model_converters' / 'tap_to_crosspt.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('tap_to_crosspt', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()

# crosspt registry type and ClsHead input width per backbone (docs/methods/tap.md,
# 'Backbones' table)
TYPES = dict(pointmlp='PointMLP', pointnet2='PointNet2', dgcnn='DGCNN',
             transformer='StandardTransformer')
HEAD_IN = dict(pointmlp=1024, pointnet2=1024, dgcnn=2048, transformer=768)
NUM_CLASSES = 15


# ------------------------------------------------------- official key lists (by hand)


def bn(prefix, c):
    return {f'{prefix}.{n}': (c,) for n in ('weight', 'bias', 'running_mean', 'running_var')} \
        | {f'{prefix}.num_batches_tracked': ()}


def official_pointmlp(in_channels=4):
    """PointMLP (embed 64, res_expansion 1, dim_expansion [2]*4, pre/pos blocks [2]*4,
    use_xyz False, no conv bias): keys of the official code (docs/methods/tap.md,
    'PointMLP')."""
    keys = {'embedding.net.0.weight': (64, in_channels, 1), **bn('embedding.net.1', 64)}
    c = 64
    for i in range(4):
        out = 2 * c
        keys[f'local_grouper_list.{i}.affine_alpha'] = (1, 1, 1, c)
        keys[f'local_grouper_list.{i}.affine_beta'] = (1, 1, 1, c)
        keys[f'pre_blocks_list.{i}.transfer.net.0.weight'] = (out, 2 * c, 1)
        keys.update(bn(f'pre_blocks_list.{i}.transfer.net.1', out))
        for part in ('pre_blocks_list', 'pos_blocks_list'):
            for j in range(2):
                p = f'{part}.{i}.operation.{j}'
                for net in ('net1', 'net2'):
                    keys[f'{p}.{net}.0.weight'] = (out, out, 1)
                    keys.update(bn(f'{p}.{net}.1', out))
        c = out
    return {k: (s, k) for k, s in keys.items()}


def official_transformer(depth=12, d=384):
    """Point-BERT Transformer as TAP uses it (docs/methods/tap.md, 'Standard Transformer')."""
    keys = {
        'encoder.first_conv.0.weight': (128, 3, 1), 'encoder.first_conv.0.bias': (128,),
        **bn('encoder.first_conv.1', 128),
        'encoder.first_conv.3.weight': (256, 128, 1), 'encoder.first_conv.3.bias': (256,),
        'encoder.second_conv.0.weight': (512, 512, 1), 'encoder.second_conv.0.bias': (512,),
        **bn('encoder.second_conv.1', 512),
        'encoder.second_conv.3.weight': (256, 512, 1), 'encoder.second_conv.3.bias': (256,),
        'reduce_dim.weight': (d, 256), 'reduce_dim.bias': (d,),
        'cls_token': (1, 1, d), 'cls_pos': (1, 1, d),
        'pos_embed.0.weight': (128, 3), 'pos_embed.0.bias': (128,),
        'pos_embed.2.weight': (d, 128), 'pos_embed.2.bias': (d,),
        'norm.weight': (d,), 'norm.bias': (d,),
    }
    for i in range(depth):
        p = f'blocks.blocks.{i}'
        keys.update({
            f'{p}.norm1.weight': (d,), f'{p}.norm1.bias': (d,),
            f'{p}.attn.qkv.weight': (3 * d, d),                  # qkv_bias False
            f'{p}.attn.proj.weight': (d, d), f'{p}.attn.proj.bias': (d,),
            f'{p}.norm2.weight': (d,), f'{p}.norm2.bias': (d,),
            f'{p}.mlp.fc1.weight': (4 * d, d), f'{p}.mlp.fc1.bias': (4 * d,),
            f'{p}.mlp.fc2.weight': (d, 4 * d), f'{p}.mlp.fc2.bias': (d,)})
    return {k: (s, k) for k, s in keys.items()}


def official_pointnet2(in_channels=4):
    """openpoints PointNet2Encoder SSG (mlps [[64,64,128]], [[128,128,256]], [[256,512,1024]],
    'dp_fj': first conv sees 3 + C), with the crosspt key each one must become."""
    keys = {}
    c = in_channels
    for i, mlp in enumerate(([64, 64, 128], [128, 128, 256], [256, 512, 1024])):
        prev = 3 + c
        for j, out in enumerate(mlp):
            base = f'SA_modules.{i}.local_aggregations.0.SA_CONFIG_operator.convs.{j}'
            keys[f'{base}.0.weight'] = ((out, prev, 1, 1), f'sa_modules.{i}.mlp.{j}.conv.weight')
            for name, shape in bn('x', out).items():
                keys[f'{base}.1.{name[2:]}'] = (shape, f'sa_modules.{i}.mlp.{j}.bn.{name[2:]}')
            prev = out
        c = mlp[-1]
    return keys


def official_dgcnn(in_channels=4):
    """openpoints DGCNN(channels 64, n_blocks 5): EdgeConvs 4->64 (static), 64->64,
    64->128, 128->256 (dynamic), fusion 512->1024."""
    keys = {'head.gconv.nn.0.weight': (64, 2 * in_channels, 1, 1), **bn('head.gconv.nn.1', 64)}
    for i, (c, out) in enumerate([(64, 64), (64, 128), (128, 256)]):
        keys[f'backbone.{i}.gconv.nn.0.weight'] = (out, 2 * c, 1, 1)
        keys.update(bn(f'backbone.{i}.gconv.nn.1', out))
    keys['fusion_block.0.weight'] = (1024, 512, 1)
    keys.update(bn('fusion_block.1', 1024))
    return {k: (s, k) for k, s in keys.items()}


def official_head(in_channels, num_classes=NUM_CLASSES):
    """openpoints ClsHead [512, 256] (docs/methods/tap.md, 'Classification head') -> crosspt
    ClsHead ``layers.*``."""
    keys = {'prediction.head.0.0.weight': (512, in_channels), **bn('prediction.head.0.1', 512),
            'prediction.head.2.0.weight': (256, 512), **bn('prediction.head.2.1', 256),
            'prediction.head.4.0.weight': (num_classes, 256),
            'prediction.head.4.0.bias': (num_classes,)}
    return {k: (s, 'layers.' + k[len('prediction.head.'):]) for k, s in keys.items()}


OFFICIAL = dict(pointmlp=official_pointmlp, pointnet2=official_pointnet2,
                dgcnn=official_dgcnn, transformer=official_transformer)


def fill(table, seed=0):
    """Random tensors for a {key: (shape, target)} table (positive running_var, int64
    num_batches_tracked)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, (shape, _) in table.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.randint(1, 10_000, (), generator=g, dtype=torch.long)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(shape, generator=g)
    return state


def finetuned(backbone, module_prefix=False):
    enc = OFFICIAL[backbone]()
    head = official_head(HEAD_IN[backbone])
    model = {f'encoder.{k}': v for k, v in fill(enc, 1).items()} | fill(head, 2)
    if module_prefix:
        model = {f'module.{k}': v for k, v in model.items()}
    checkpoint = dict(model=model, optimizer=dict(state={}, param_groups=[dict(lr=5e-4)]),
                      scheduler=dict(last_epoch=299), epoch=300, best_val=88.5)
    return checkpoint, enc, head


# ----------------------------------------------------------------------- conversions


@pytest.mark.parametrize('backbone', list(TYPES))
def test_clean_checkpoint_maps_every_tensor(backbone):
    table = OFFICIAL[backbone]()
    source = fill(table)
    result = tool.convert_tap_checkpoint(dict(model=source), backbone)
    sd, meta = result['state_dict'], result['meta']
    assert meta['format'] == 'clean' and meta['backbone'] == backbone and not meta['dropped']
    assert set(sd) == {'backbone.' + target for _, target in table.values()}
    for key, (_, target) in table.items():
        assert torch.equal(sd['backbone.' + target], source[key]), key
    model = MODELS.build(dict(type=TYPES[backbone]))
    model.load_state_dict({k[len('backbone.'):]: v for k, v in sd.items()}, strict=True)
    own = model.state_dict()
    for key, (_, target) in table.items():
        assert torch.equal(own[target], source[key]), key


@pytest.mark.parametrize('backbone', list(TYPES))
def test_finetuned_checkpoint_loads_strictly_into_classifier(backbone):
    checkpoint, enc, head = finetuned(backbone, module_prefix=True)
    result = tool.convert_tap_checkpoint(checkpoint, backbone)
    sd, meta = result['state_dict'], result['meta']
    assert meta['format'] == 'finetuned' and meta['module_prefix_stripped']
    assert meta['num_classes'] == NUM_CLASSES and meta['wrapper_key'] == 'model'
    expected = {f'module.encoder.{k}': 'backbone.' + t for k, (_, t) in enc.items()} \
        | {f'module.{k}': 'head.' + t for k, (_, t) in head.items()}
    assert set(sd) == set(expected.values())
    cfg = dict(type=TYPES[backbone])
    if backbone == 'pointnet2':
        cfg['stage3'] = 'global'       # the fine-tuning form: same keys and shapes
    classifier = MODELS.build(dict(
        type='PointClassifier', backbone=cfg,
        head=dict(type='ClsHead', in_channels=HEAD_IN[backbone], num_classes=NUM_CLASSES)))
    classifier.load_state_dict(sd, strict=True)
    own = classifier.state_dict()
    for src, dst in expected.items():
        assert torch.equal(own[dst], checkpoint['model'][src]), src


@pytest.mark.parametrize('wrapper', ['net', 'network', 'state_dict', 'base_model', None])
def test_other_wrappers_and_bare_state_dicts(wrapper):
    source = fill(official_dgcnn())
    checkpoint = source if wrapper is None else {wrapper: source, 'epoch': 3}
    result = tool.convert_tap_checkpoint(checkpoint, 'dgcnn')
    assert result['meta']['wrapper_key'] == wrapper
    assert all(torch.equal(result['state_dict']['backbone.' + k], v) for k, v in source.items())


def official_generator(in_channels, depth=6):
    """openpoints ViewTransformer (feat 256, 32 heads x 32 dims, GEGLU x4) and ViewDecoder
    keys with their shapes (docs/methods/tap.md, 'Photograph module' and '2D generator'),
    and the crosspt key each one
    must become; ``generator.pad_memory`` has none."""
    c = in_channels + 3
    keys = {'generator.feat_mlp.fc1.weight': (c, c), 'generator.feat_mlp.fc1.bias': (c,),
            'generator.feat_mlp.fc2.weight': (256, c), 'generator.feat_mlp.fc2.bias': (256,),
            'generator.query_mlp.fc1.weight': (8, 8), 'generator.query_mlp.fc1.bias': (8,),
            'generator.query_mlp.fc2.weight': (256, 8), 'generator.query_mlp.fc2.bias': (256,)}
    for i in range(depth):
        p = f'generator.transformer.{i}'
        for a in ('attn1', 'attn2'):
            keys.update({f'{p}.{a}.to_{x}.weight': (1024, 256) for x in 'qkv'})
            keys[f'{p}.{a}.to_out.0.weight'], keys[f'{p}.{a}.to_out.0.bias'] = (256, 1024), (256,)
        keys[f'{p}.ff.net.0.proj.weight'], keys[f'{p}.ff.net.0.proj.bias'] = (2048, 256), (2048,)
        keys[f'{p}.ff.net.2.weight'], keys[f'{p}.ff.net.2.bias'] = (256, 1024), (256,)
        for n in ('norm1', 'norm2', 'norm3'):
            keys[f'{p}.{n}.weight'], keys[f'{p}.{n}.bias'] = (256,), (256,)
    for i, (cin, cout, k) in enumerate([(256, 128, 5), (128, 64, 3), (64, 32, 3), (32, 3, 3)]):
        keys[f'decoder.layer{i + 1}.0.weight'] = (cin, cout, k, k)
        keys[f'decoder.layer{i + 1}.0.bias'] = (cout,)
    rules = [('generator.feat_mlp.', 'memory_builder.mlp.'),
             ('generator.query_mlp.', 'photograph.query_mlp.'),
             ('generator.transformer.', 'photograph.blocks.'), ('decoder.', 'head.decoder.')]
    table = {}
    for key, shape in keys.items():
        src, dst = next((s, d) for s, d in rules if key.startswith(s))
        table[key] = (shape, dst + key[len(src):])
    return table


def test_full_pretraining_checkpoint_converts_whole():
    encoder = fill(official_dgcnn())
    generator = official_generator(1024)
    model = {f'encoder.{k}': v for k, v in encoder.items()} | fill(generator, 3)
    model['generator.pad_memory'] = torch.zeros(256)
    result = tool.convert_tap_checkpoint(dict(model=model, epoch=100), 'dgcnn')
    sd, meta = result['state_dict'], result['meta']
    assert meta['format'] == 'pretrain_full' and meta['dropped'] == {}
    assert meta['unused'] == ['generator.pad_memory']
    assert set(sd) == {f'backbone.{k}' for k in encoder} | {t for _, t in generator.values()}
    for key, (_, target) in generator.items():
        assert torch.equal(sd[target], model[key]), key
    report = tool.format_report(meta)
    assert 'unused: generator.pad_memory' in report and 'dropped: nothing' in report
    # the result is the whole crosspt TAP model of the shipped DGCNN pre-training config
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / 'configs/tap/dgcnn_1xb16-100e_shapenet55.py'))
    with DefaultScope.overwrite_default_scope('crosspt'):
        tap = MODELS.build(cfg.model)
    tap.load_state_dict(sd, strict=True)
    # a generator key outside the four rules is an error that names it
    model['generator.extra.weight'] = torch.zeros(3)
    with pytest.raises(KeyError, match=r'generator\.extra\.weight'):
        tool.convert_tap_checkpoint(dict(model=model), 'dgcnn')


def test_transformer_clean_keys_are_not_mistaken_for_encoder_prefix():
    # the Transformer's own mini-PointNet is called ``encoder``: its clean file has
    # ``encoder.first_conv.*`` next to un-prefixed ``blocks.*`` keys
    result = tool.convert_tap_checkpoint(dict(model=fill(official_transformer())), 'transformer')
    assert result['meta']['format'] == 'clean'
    assert 'backbone.encoder.first_conv.0.weight' in result['state_dict']


# ----------------------------------------------------------------------------- errors


def test_unknown_keys_are_all_listed():
    source = fill(official_dgcnn())
    source['head.gconv.nn.2.weight'] = torch.zeros(1)
    source['classifier.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match=r'2 source key.*head\.gconv\.nn\.2\.weight.*'
                                       r'classifier\.weight'):
        tool.convert_tap_checkpoint(dict(model=source), 'dgcnn')
    checkpoint, _, _ = finetuned('dgcnn')
    checkpoint['model']['prediction.extra.weight'] = torch.zeros(2)
    with pytest.raises(KeyError, match=r'prediction\.extra\.weight'):
        tool.convert_tap_checkpoint(checkpoint, 'dgcnn')
    # a PointNet++ key outside the SSG layout, and a checkpoint of another backbone
    pn2 = fill(official_pointnet2())
    pn2['SA_modules.0.local_aggregations.1.SA_CONFIG_operator.convs.0.0.weight'] = \
        torch.zeros(64, 7, 1, 1)
    with pytest.raises(KeyError, match=r'local_aggregations\.1\.SA_CONFIG'):
        tool.convert_tap_checkpoint(dict(model=pn2), 'pointnet2')
    with pytest.raises(KeyError, match=r'embedding\.net\.0\.weight.*receive no value: '
                                       r'backbone\.head\.gconv\.nn\.0\.weight'):
        tool.convert_tap_checkpoint(dict(model=fill(official_pointmlp())), 'dgcnn')
    with pytest.raises(KeyError, match='both with and without'):
        tool.convert_tap_checkpoint({'model': {'cls_token': torch.zeros(1, 1, 384),
                                               'module.cls_token': torch.zeros(1, 1, 384)}},
                                    'transformer')


def test_wrong_shape_names_key_and_shapes():
    source = fill(official_dgcnn())
    source['backbone.1.gconv.nn.0.weight'] = torch.zeros(128, 64, 1, 1)
    with pytest.raises(ValueError, match=r'backbone\.1\.gconv\.nn\.0\.weight.*checkpoint '
                                         r'\(128, 64, 1, 1\) vs crosspt \(128, 128, 1, 1\)'):
        tool.convert_tap_checkpoint(dict(model=source), 'dgcnn')
    checkpoint, _, _ = finetuned('pointmlp')
    checkpoint['model']['prediction.head.0.0.weight'] = torch.zeros(512, 2048)
    with pytest.raises(ValueError, match=r'prediction\.head\.0\.0\.weight -> head\.layers\.0\.0'):
        tool.convert_tap_checkpoint(checkpoint, 'pointmlp')


def test_missing_keys_are_named():
    source = fill(official_dgcnn())
    del source['fusion_block.1.running_var']
    with pytest.raises(KeyError, match=r'backbone\.fusion_block\.1\.running_var'):
        tool.convert_tap_checkpoint(dict(model=source), 'dgcnn')
    checkpoint, _, _ = finetuned('dgcnn')
    del checkpoint['model']['prediction.head.2.1.running_mean']
    with pytest.raises(KeyError, match=r'head\.layers\.2\.1\.running_mean'):
        tool.convert_tap_checkpoint(checkpoint, 'dgcnn')
    checkpoint, _, _ = finetuned('dgcnn')
    del checkpoint['model']['prediction.head.4.0.weight']
    with pytest.raises(KeyError, match=r'prediction\.head\.4\.0\.weight'):
        tool.convert_tap_checkpoint(checkpoint, 'dgcnn')


def test_bad_arguments():
    source = fill(official_dgcnn())
    with pytest.raises(ValueError, match='backbone must be one of'):
        tool.convert_tap_checkpoint(dict(model=source), 'pointnext')
    checkpoint, _, _ = finetuned('dgcnn')
    with pytest.raises(ValueError, match='--num-classes 40'):
        tool.convert_tap_checkpoint(checkpoint, 'dgcnn', num_classes=40)
    assert tool.convert_tap_checkpoint(checkpoint, 'dgcnn', num_classes=15)['meta'][
        'num_classes'] == 15
    with pytest.raises(ValueError, match='no classifier'):
        tool.convert_tap_checkpoint(dict(model=source), 'dgcnn', num_classes=15)
    with pytest.raises(KeyError, match='top-level keys'):
        tool.convert_tap_checkpoint(dict(optimizer={}, epoch=1), 'dgcnn')


# -------------------------------------------------------------------------------- CLI


def test_cli_output_loads_with_pretrained_init(tmp_path):
    source = fill(official_dgcnn(), seed=9)
    src = tmp_path / 'dgcnn_clean.pth'
    torch.save(dict(model=source), src)
    dst = tmp_path / 'out' / 'tap_dgcnn.pth'
    proc = subprocess.run([sys.executable, str(TOOL), str(src), str(dst), '--backbone', 'dgcnn'],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "format 'clean'" in proc.stdout and '30 tensors as backbone.*' in proc.stdout
    assert 'dropped: nothing' in proc.stdout
    with DefaultScope.overwrite_default_scope('crosspt'):
        model = MODELS.build(dict(type='DGCNN', init_cfg=dict(
            type='Pretrained', checkpoint=str(dst), prefix='backbone.')))
        model.init_weights()
    own = model.state_dict()
    for key, value in source.items():
        assert torch.equal(own[key], value), key
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['source'] == 'dgcnn_clean.pth' and saved['meta']['backbone'] == 'dgcnn'


def test_cli_finetuned_in_process(tmp_path, capsys):
    checkpoint, _, _ = finetuned('pointnet2')
    src, dst = tmp_path / 'pn2_ft.pth', tmp_path / 'pn2_crosspt.pth'
    torch.save(checkpoint, src)
    tool.main([str(src), str(dst), '--backbone', 'pointnet2', '--num-classes', '15'])
    out = capsys.readouterr().out
    assert "format 'finetuned'" in out and 'num_classes' in out
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['format'] == 'finetuned'
    assert saved['state_dict']['head.layers.4.0.weight'].shape == (15, 256)
    assert torch.equal(saved['state_dict']['backbone.sa_modules.2.mlp.0.conv.weight'],
                       checkpoint['model']['encoder.SA_modules.2.local_aggregations.0.'
                                           'SA_CONFIG_operator.convs.0.0.weight'])
