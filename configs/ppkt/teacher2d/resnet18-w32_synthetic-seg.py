# A small 2D teacher for the embedded PPKT demo: ResNet-18 at width 32 (torchvision layout,
# base_channels 32 instead of 64) + a 1x1-conv head on layer4, trained for 20-class
# ScanNet-benchmark semantic segmentation on the rendered frames of the synthetic scenes.
# PPKT's real teacher is an ImageNet ResNet-50 (docs/methods/ppkt.md, '2D teacher'); none
# can be downloaded
# here, so crosspt trains one whose layer4 has learned the semantics of synthetic rooms.
#
#   python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py
#
# Data: the PPKT demo scenes themselves (data/synthetic_scannet, written on first use
# with exactly the parameters of configs/ppkt/srunet34_synthetic.py, so either config can
# create them).  Rooms 0..N-2 train the teacher, the last room is held out for
# validation (pixel accuracy / mIoU on an unseen room).  Frames are used at the label
# (= depth) resolution 240x320; training sees random 160x160 crops (same pixel scale)
# with horizontal flips.
#
# The checkpoint becomes the PPKT teacher (configs/ppkt/srunet34_synthetic.py) with
#   teacher=dict(type='ImageTeacher',
#                backbone=dict(type='ResNet', depth=18, base_channels=32),
#                checkpoint='work_dirs/resnet18-w32_synthetic-seg/iter_300.pth',
#                prefix='backbone.')
# (ImageTeacher normalises uint8 RGB exactly as ImageSegDataPreprocessor does here).
_base_ = ['../../_base_/default_runtime.py']

data_root = 'data/synthetic_scannet'
synthetic_data = dict(num_scenes=4, frames_per_scene=12, seed=0)   # = srunet34_synthetic.py
num_classes = 20          # ScanNet benchmark classes; the synthetic scenes use 14 of them
ignore_index = 255
crop_size = (160, 160)
max_iters = 300

model = dict(
    type='ImageSegmentor',
    backbone=dict(type='ResNet', depth=18, base_channels=32, out_indices=(3,)),
    num_classes=num_classes,
    ignore_index=ignore_index,
    dropout=0.1,
    data_preprocessor=dict(type='ImageSegDataPreprocessor'))

train_pipeline = [
    dict(type='RandomImageSegFlip', prob=0.5),
    dict(type='RandomImageSegCrop', size=crop_size),
    dict(type='PackImageSegInputs'),
]
val_pipeline = [dict(type='PackImageSegInputs')]

train_dataloader = dict(
    batch_size=8, num_workers=1, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='ScanNetImageSegDataset', data_root=data_root, scene_slice=(0, -1),
                 auto_generate=synthetic_data, ignore_index=ignore_index,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='ScanNetImageSegDataset', data_root=data_root, scene_slice=(-1, None),
                 auto_generate=synthetic_data, ignore_index=ignore_index,
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ImageSegMIoU', num_classes=num_classes, ignore_index=ignore_index)
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=3e-3, betas=(0.9, 0.999), weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=8)   # the lr belongs to 8 crops per step
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=max_iters - 20, eta_min=3e-5, by_epoch=False,
         begin=20, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
