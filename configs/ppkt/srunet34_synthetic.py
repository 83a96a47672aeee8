# PPKT pre-training of SR-UNet34 on the embedded synthetic RGB-D scenes (CPU demo).
#   python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py   # 2D teacher
#   python tools/train.py configs/ppkt/srunet34_synthetic.py
# Same model, loss, pairing and augmentations as srunet34_1xb24-60k_scannet.py, shrunk for a
# 2-core CPU:
#   - data: 4 procedural rooms x 12 frames (every 25th frame index, like PPKT's ScanNet
#     frames), depth 240x320 with ScanNet's depth intrinsics halved, colour 484x648,
#     written in the extracted ScanNet layout on first use (tools/create_data.py
#     synthetic-scenes).  Rooms 0-2 pre-train (35 frames: scene0000_00 holds one -inf
#     pose frame, rejected and counted); room 3 (12 frames, the 2D teacher's held-out
#     room too) is only validated on;
#   - teacher: the small ResNet-18 (width 32) that crosspt trains on these renders
#     (configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py), so the demo transfers real
#     2D knowledge; run that config first (or point CROSSPT_TEACHER at its checkpoint);
#   - 10 cm voxels, K = 1024 pairs, batch 4 frames, 360 iterations, AdamW lr 5e-3
#     (20-iteration linear warm-up, then cosine; fused CPU AdamW), RGB voxel features
#     (paper: 2.5 cm, K = 4096, batch 24, 60k iterations, SGD lr 0.5, dummy features);
#   - validation every 60 iterations on room 3: point -> pixel top-1 retrieval among the
#     K = 1024 pairs of each frame (PPKTRetrievalMetric: ppkt/retrieval_top1 beside
#     ppkt/retrieval_chance = mean 1/K; frames with fewer voxels give K < 1024), and the
#     teacher's and student's features of one frame in one shared PCA
#     (<work_dir>/feature_pca/iter_*.png, PPKTFeaturePCAHook);
#   - measured 2026-12-02 (one thread, 2 shared CPU cores at load 2.1-3.8, 17 min 21 s
#     in all, 15.2 min CPU time of all processes): retrieval 4.4x chance at iteration
#     60, 9.5x at 120, 12.2x at 180 (8 min 11 s after the start), 16.2x at 240, 15.4x at
#     360 (1.78 % vs 0.116 %); PPNCE 7.09 at iteration 10 -> 4.01 at 360 (ln K = 6.93);
#   - why 10 cm and lr 5e-3: per iteration (batch 4, one thread, CPU time) the student's
#     sparse convolutions take 87 % at 5 cm (5.1 of 5.8 s, 22.8k voxels) and 67 % at
#     10 cm (1.6 of 2.5 s, 6.3k voxels); the teacher is 2-6 %, the data pipeline
#     (in the loader workers) 6-16 %.  At 5 cm, lr 1e-3 and batch 2, held-out retrieval
#     was 2.6x chance after 80 iterations; at 10 cm with lr 1e-3 4.5x after 120, with
#     lr 3e-3 7.2x after 150, with lr 5e-3 and warm-up 11.9x after 150 (short runs).
# The bases of srunet34_1xb24-60k_scannet.py, inherited directly (this file sets every
# hook and log setting that config adds to them): inheritance stays 3 levels deep.
_base_ = [
    '../_base_/models/ppkt_srunet34.py',
    '../_base_/datasets/scannet_frames.py',
    '../_base_/schedules/ppkt_sgd_60k.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/synthetic_scannet'
synthetic_data = dict(num_scenes=4, frames_per_scene=12, seed=0)
# rooms 0-2 pre-train; room 3 (the 2D teacher's validation room too) is only validated on
train_scenes = ['scene0000_00', 'scene0001_00', 'scene0002_00']
val_scenes = ['scene0003_00']
teacher_checkpoint = '{{$CROSSPT_TEACHER:work_dirs/resnet18-w32_synthetic-seg/iter_300.pth}}'
voxel_size = 0.1
image_size = (240, 320)
num_pairs = 1024
max_iters = 360
warmup_iters = 20
val_interval = 60

model = dict(
    teacher=dict(type='ImageTeacher',
                 backbone=dict(type='ResNet', depth=18, base_channels=32),
                 checkpoint=teacher_checkpoint, prefix='backbone.'),
    upl=dict(type='UpsamplingProjection', in_channels=256, out_channels=128, scale=32),
    num_pairs=num_pairs,
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
# validation: whole frames, no augmentation; every pixel with depth stays paired with its
# voxel (the feature picture covers them all), the voxel keeps its first point, and
# PPKT.predict samples K pairs per frame, one per voxel, with a fixed seed
val_pipeline = [
    dict(type='LoadRGBDFrame'),
    dict(type='VoxelizePairs', voxel_size=voxel_size, one_pixel_per_voxel=False,
         feat_mode='rgb', random_keep=False),
    dict(type='PackPPKTInputs'),
]
frames_dataset = dict(type='ScanNetFramesDataset', data_root=data_root, frame_skip=25,
              coordinate='world', invalid_frames='skip', check_depth_at_init=True,
              auto_generate=synthetic_data)
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(frames_dataset, scenes=train_scenes, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(frames_dataset, scenes=val_scenes, test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PPKTRetrievalMetric', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=5e-3, weight_decay=1e-4, fused=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=0.0,
         by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=120, max_keep_ckpts=2))
custom_hooks = [dict(type='PPKTFeaturePCAHook', sample=0)]
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
