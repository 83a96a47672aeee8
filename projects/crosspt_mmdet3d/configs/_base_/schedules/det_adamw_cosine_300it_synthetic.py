# The short CPU schedule of the embedded 3DETR twins: AdamW with the published lr 5e-4
# (a config may set its own), weight decay 0.1 and gradient clipping 0.1, no warm-up, a
# cosine to 1e-6 over 300 iterations, validation at the end (a config using it sets
# default_hooks.checkpoint.interval: the runtime base holds default_hooks).
max_iters = 300
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.1),
                     clip_grad=dict(max_norm=0.1, norm_type=2))
# the lr is published for batch 8; these short runs keep it at their own batch 4
auto_scale_lr = dict(enable=False, base_batch_size=4)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
