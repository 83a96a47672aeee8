# PPKT pre-training of SR-UNet34 on a larger unlabelled embedded set, for the "Does
# pre-training help?" benchmark (docs/finetuning.md, "Does pre-training help? (embedded
# benchmark)"):
#   python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg_24rooms.py
#   python tools/train.py configs/ppkt/srunet34_synthetic-24rooms.py
# The demo recipe (srunet34_synthetic.py: 10 cm voxels, K = 1024, batch 4, AdamW 5e-3
# with warm-up and cosine decay) on 24 procedural rooms x 12 frames generated with seed 1
# (the labelled benchmark rooms use seed 0, so no room is shared), with the teacher of
# resnet18-w32_synthetic-seg_24rooms.py; rooms 0-21 pre-train (264 frames), rooms 22-23
# validate the point -> pixel retrieval; 600 iterations (about 9 passes over the frames).
_base_ = ['./srunet34_synthetic.py']

data_root = 'data/synthetic_scannet_pretrain'
synthetic_data = dict(num_scenes=24, frames_per_scene=12, seed=1)
train_scenes = [f'scene{i:04d}_00' for i in range(22)]
val_scenes = ['scene0022_00', 'scene0023_00']
teacher_checkpoint = \
    '{{$CROSSPT_TEACHER:work_dirs/resnet18-w32_synthetic-seg_24rooms/iter_300.pth}}'
max_iters = 600
warmup_iters = 20
val_interval = 150

model = dict(teacher=dict(checkpoint=teacher_checkpoint))
train_dataloader = dict(
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, scenes=train_scenes))
val_dataloader = dict(
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, scenes=val_scenes))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters, eta_min=0.0,
         by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=300))
