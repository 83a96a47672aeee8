# Short segmentation fine-tuning for the embedded synthetic scenes on a 2-core CPU:
# AdamW lr 1e-3, wd 1e-4, cosine to 1e-5 over 150 iterations, one evaluation at the end
# (instead of seg_sgd_poly_15k.py's SGD lr 0.1 for 15k iterations).
max_iters = 150
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the lr belongs to the embedded runs' own batch (2 scenes per step, one process)
auto_scale_lr = dict(enable=False, base_batch_size=2)
