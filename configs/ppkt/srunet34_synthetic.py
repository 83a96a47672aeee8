# PPKT pre-training of SR-UNet34 on the embedded synthetic RGB-D scenes (CPU demo).
#   python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py   # 2D teacher
#   python tools/train.py configs/ppkt/srunet34_synthetic.py
# Same model, loss, pairing and augmentations as srunet34_scannet.py, shrunk for a
# 2-core CPU:
#   - data: 4 procedural rooms x 12 frames (every 25th frame index, like PPKT's ScanNet
#     frames), depth 240x320 with ScanNet's depth intrinsics halved, colour 484x648,
#     written in the extracted ScanNet layout on first use (tools/create_data.py
#     synthetic-scenes); scene0000_00 holds one -inf pose frame, rejected and counted;
#   - teacher: the small ResNet-18 (width 32) that crosspt trains on these renders
#     (configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py), so the demo transfers real
#     2D knowledge; run that config first (or point CROSSPT_TEACHER at its checkpoint);
#   - 5 cm voxels, K = 1024 pairs, batch 4 frames, 360 iterations (paper: 2.5 cm,
#     K = 4096, batch 24, 60k iterations); measured here (one thread, shared 2-core CPU,
#     47 min): PPNCE 7.04 at iteration 10 -> 5.43 at 120 -> 4.70 at 340-360 (ln K = 6.93);
#   - AdamW lr 1e-3 and RGB voxel features instead of SGD lr 0.5 and dummy ones: in
#     short CPU runs on these frames PPNCE fell faster that way (30-40 iterations,
#     batch 2: AdamW+RGB 6.1-6.2, SGD lr 0.1/0.5 6.5-6.8; ln K = 6.93).
_base_ = ['./srunet34_scannet.py']

data_root = 'data/synthetic_scannet'
synthetic_data = dict(num_scenes=4, frames_per_scene=12, seed=0)
teacher_checkpoint = '{{$CROSSPT_TEACHER:work_dirs/resnet18-w32_synthetic-seg/iter_300.pth}}'
voxel_size = 0.05
image_size = (240, 320)
max_iters = 360

model = dict(
    teacher=dict(type='ImageTeacher',
                 backbone=dict(type='ResNet', depth=18, base_channels=32),
                 checkpoint=teacher_checkpoint, prefix='backbone.'),
    upl=dict(type='UpsamplingProjection', in_channels=256, out_channels=128, scale=32),
    num_pairs=1024,
    voxel_size=voxel_size)

train_pipeline = [
    dict(type='LoadRGBDFrame'),
    dict(type='RandomHorizontalFlip2D', prob=0.5),
    dict(type='RandomResizedCrop2D', size=image_size, scale=(0.3, 1.0), ratio=(1.2, 1.47),
         min_pairs=1024, min_fraction=0.75, max_tries=10),
    dict(type='RandomScale3D', scale=(0.9, 1.1)),
    dict(type='RandomRotation3D', axis='z'),
    dict(type='ElasticDistortion3D', params=((0.2, 0.4), (0.8, 1.6))),
    dict(type='VoxelizePairs', voxel_size=voxel_size, one_pixel_per_voxel=True,
         feat_mode='rgb'),
    dict(type='PackPPKTInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ScanNetFramesDataset', data_root=data_root, frame_skip=25,
                 coordinate='world', invalid_frames='skip', check_depth_at_init=True,
                 auto_generate=synthetic_data, pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=0.0, by_epoch=False,
         begin=0, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=120, max_keep_ckpts=2))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
