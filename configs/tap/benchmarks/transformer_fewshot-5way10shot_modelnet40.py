# Few-shot classification on ModelNet40, 5-way 10-shot, with a TAP-pre-trained standard
# Transformer.  Run the 10 folds and report mean +- std over folds:
#   for F in 0 1 2 3 4 5 6 7 8 9; do CROSSPT_PRETRAINED=PATH python tools/train.py \
#     configs/tap/benchmarks/transformer_fewshot-5way10shot_modelnet40.py \
#     --work-dir work_dirs/fewshot-5way10shot/fold$F \
#     --cfg-options train_dataloader.dataset.fold=$F val_dataloader.dataset.fold=$F; done
_base_ = [
    '../../_base_/models/cls_transformer.py',
    '../../_base_/datasets/modelnet40_fewshot.py',
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
    head=dict(num_classes=5))
default_hooks = dict(checkpoint=dict(save_best='cls/oa', rule='greater'))
train_dataloader = dict(dataset=dict(way=5, shot=10))
val_dataloader = dict(dataset=dict(way=5, shot=10))
test_dataloader = val_dataloader
val_evaluator = dict(num_classes=5)
test_evaluator = val_evaluator
# Few-shot schedule [UNVERIFIED, no checked source]: the TAP fine-tuning recipe over
# 150 epochs (10 warm-up).
max_epochs = 150
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, end_factor=1.0, by_epoch=True, begin=0,
         end=10),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 10, eta_min=1e-6, by_epoch=True,
         begin=10, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
