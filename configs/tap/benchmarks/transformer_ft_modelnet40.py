# Fine-tune a TAP-pre-trained standard Transformer on ModelNet40 (modelnet40_normal_resampled,
# 1024 FPS points; docs/methods/benchmarks.md, 'ModelNet40') with the TAP fine-tuning
# recipe.  TAP publishes no
# ModelNet40 number; Point-BERT (README): 92.67 OA, 93.24 with voting, at 1k points.
#   CROSSPT_PRETRAINED=PATH bash tools/dist_train.sh configs/tap/benchmarks/transformer_ft_modelnet40.py 8
_base_ = [
    '../../_base_/models/cls_transformer.py',
    '../../_base_/datasets/modelnet40_normal.py',
    '../../_base_/schedules/tap_finetune_300e.py',
    '../../_base_/default_runtime.py',
]

# Pre-trained backbone: the CROSSPT_PRETRAINED environment variable, or
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (a crosspt checkpoint, tools/model_converters/publish_model.py output, or an official
# TAP checkpoint converted by tools/model_converters/tap_to_crosspt.py).
# From scratch: --cfg-options model.backbone.init_cfg=None
pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=40))
default_hooks = dict(checkpoint=dict(save_best='cls/oa', rule='greater'))
