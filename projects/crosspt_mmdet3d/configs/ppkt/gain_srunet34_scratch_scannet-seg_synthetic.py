# "Does pre-training help?" for PPKT (docs/finetuning.md, "Does pre-training help?
# (embedded benchmark)"): SR-UNet34 from scratch on 10 % of the labelled embedded rooms.
# The labelled set: 20 train + 8 val ScanNet-format rooms of 50,000 points (mmdet3d's
# format), generated with seed 0; PPKT pre-trains on other rooms (seed 1,
# configs/ppkt/srunet34_synthetic-24rooms.py), so no room is shared.  The fine-tuning
# recipe of srunet34_scratch_scannet-seg_synthetic.py (150 iterations, AdamW 1e-3) with
# 10 cm voxels, the voxel size PPKT pre-trains with here (chosen before any result).
# 10 % of the rooms = 2 of the 20, drawn with fraction_seed; run through
#   python tools/benchmarks/scene_gain.py (docs/finetuning.md)
# The bases of srunet34_scratch_scannet-seg_synthetic.py, inherited directly (its BN
# momentum and hooks restated below): inheritance stays 3 levels deep.
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/synthetic_scannet_seg_mmdet3d.py',
    '../_base_/schedules/seg_adamw_150it_synthetic.py',
    '../_base_/mmdet3d_runtime.py',
]

data_root = 'data/synthetic_scannet_mmdet3d_gain/'
synthetic_data = dict(num_scenes=20, num_val_scenes=8, num_points=50000, seed=0)
model = dict(backbone=dict(voxel_size=0.1, bn_momentum=0.1))
default_hooks = dict(checkpoint=dict(interval=150, max_keep_ckpts=1, save_best='miou',
                                     rule='greater'))
train_dataloader = dict(dataset=dict(
    data_root=data_root, auto_generate=synthetic_data, scene_fraction=0.1,
    scene_idxs=data_root + 'seg_info/train_resampled_scene_idxs.npy'))
val_dataloader = dict(dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
