# Extension example (docs/extending.md): fine-tune the TinyPointNet that
# docs/examples/tap_tiny-pointnet_synthetic.py pre-trains, on the embedded ModelNet40-format
# data, with the recipe of configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py.
#   python tools/train.py docs/examples/tap_tiny-pointnet_synthetic.py --work-dir work_dirs/tap_tiny
#   python tools/model_converters/publish_model.py work_dirs/tap_tiny/epoch_20.pth \
#     work_dirs/tap_tiny/backbone.pth
#   CROSSPT_PRETRAINED=work_dirs/tap_tiny/backbone-<sha>.pth \
#     python tools/train.py docs/examples/tiny-pointnet_ft_modelnet40_synthetic.py
# Built, loaded from a published TAP checkpoint and run by
# tests/test_docs/test_docs_examples.py.
_base_ = ['../../configs/tap/benchmarks/pointmlp_ft_modelnet40_synthetic.py']

custom_imports = dict(imports=['docs.examples.tiny_pointnet'], allow_failed_imports=False)

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(
    backbone=dict(
        _delete_=True,   # drop the PointMLP arguments of the base config
        type='TinyPointNet', in_channels=4, num_centers=64, k=16, channels=(64, 128),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(in_channels=128))   # = TinyPointNet.global_channels
