# Everything of a TAP ShapeNet55 pre-training run except the model (docs/methods/tap.md,
# 'Pre-training data' and 'Pre-training recipe'):
# data, AdamW + cosine schedule (PointMLP/PointNet++ recipe; other backbones override
# lr/wd/min_lr in their config), checkpoints and view-grid pictures.
_base_ = [
    './datasets/shapenet55_views.py',
    './schedules/adamw_cosine_100e.py',
    './default_runtime.py',
]

custom_hooks = [dict(type='TAPViewGridHook', interval=500, max_objects=4)]
# Best checkpoint = lowest validation TAP loss, as in the released code.
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='view/loss', rule='less'),
    logger=dict(type='LoggerHook', interval=50))
