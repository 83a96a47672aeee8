# PPKT pre-training schedule (docs/methods/ppkt.md, 'Pre-training recipe'): SGD lr 0.5,
# weight decay 1e-4, batch 24
# frames, 60,000 iterations on one GPU.  Momentum 0.9 / dampening 0.1 (PointContrast,
# SLidR) and the cosine decay (SLidR's PPKT) are [UNVERIFIED] for PPKT.
max_iters = 60000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, dampening=0.1, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False,
         begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
# lr 0.5 is for 24 frames per step: `--auto-scale-lr` rescales it for other totals
auto_scale_lr = dict(enable=False, base_batch_size=24)
