# SUN RGB-D v1 detection (10 classes, yawed boxes, AP@0.25 / AP@0.5) with 3DETR from
# scratch: the release's SUN RGB-D recipe (docs/methods/3detr.md, 'SUN RGB-D';
# 3detr scripts/sunrgbd_ep1080.sh): batch 8, 1080 epochs, AdamW lr 7e-4 (the ScanNet
# recipe's 5e-4 otherwise), 20,000 xyz points, 128 queries, 12 heading bins.  Released
# checkpoint for reference (not a crosspt run): 58.0 / 30.3 (README).
#   bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/3detr_scratch_sunrgbd-det.py 1
_base_ = [
    '../_base_/models/det_3detr_sunrgbd_mmdet3d.py',
    '../_base_/datasets/sunrgbd_det_mmdet3d.py',
    '../_base_/schedules/det_adamw_cosine_1080e.py',
    '../_base_/mmdet3d_runtime.py',
]
base_lr = 7e-4
warmup_epochs = 9
max_epochs = 1080
optim_wrapper = dict(optimizer=dict(lr=base_lr))
# the schedule of det_adamw_cosine_1080e.py, its warm-up starting from 1e-6 at this lr
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / base_lr, end_factor=1.0, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=10, max_keep_ckpts=3,
                                     save_best='mAP_0.25', rule='greater'),
                     logger=dict(log_metric_by_epoch=True))
log_processor = dict(by_epoch=True)
