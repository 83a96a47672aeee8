# Fine-tune a TAP-pre-trained PointNet++ on ScanObjectNN PB_T50_RS
# (docs/methods/tap.md, 'ScanObjectNN fine-tuning'):
# AdamW 5e-4, 300 epochs, batch 32, label smoothing 0.3; best test OA is reported.
# TAP paper number (README): 86.8 OA.  Not reproduced here (no GPU, no data).
#   CROSSPT_PRETRAINED=PATH bash tools/dist_train.sh configs/tap/benchmarks/pointnet2_ft_scanobjectnn-pb-t50-rs.py 8
_base_ = [
    '../../_base_/models/cls_pointnet2.py',
    '../../_base_/datasets/scanobjectnn.py',
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
    head=dict(num_classes=15))
default_hooks = dict(checkpoint=dict(save_best='cls/oa', rule='greater'))
