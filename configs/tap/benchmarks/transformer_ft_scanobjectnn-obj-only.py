# Fine-tune a TAP-pre-trained standard Transformer on ScanObjectNN OBJ_ONLY
# (docs/methods/tap.md, 'ScanObjectNN fine-tuning'):
# AdamW 5e-4, 300 epochs, batch 32, label smoothing 0.3; best test OA is reported.
# TAP paper number (README): 89.5 OA.  Not reproduced here (no GPU, no data).
#   CROSSPT_PRETRAINED=PATH bash tools/dist_train.sh configs/tap/benchmarks/transformer_ft_scanobjectnn-obj-only.py 8
_base_ = [
    '../../_base_/models/cls_transformer.py',
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
train_dataloader = dict(dataset=dict(variant='obj_only'))
val_dataloader = dict(dataset=dict(variant='obj_only'))
test_dataloader = val_dataloader
