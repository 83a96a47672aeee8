# TAP ShapeNetPart fine-tuning schedule (docs/methods/tap.md, 'ShapeNetPart fine-tuning'):
# AdamW lr 1e-3, wd 1e-4,
# 300 epochs, lr x0.1 at epochs 210 and 270, no warm-up, grad clip 1.
max_epochs = 300
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    paramwise_cfg=dict(bias_decay_mult=0.0, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[210, 270], gamma=0.1, by_epoch=True, begin=0,
         end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Batch 16 (TAP's ShapeNetPart config, per GPU; GPU count not published [UNVERIFIED]).
auto_scale_lr = dict(enable=False, base_batch_size=16)
