# The 2D teacher of the PPKT "Does pre-training help?" benchmark
# (configs/ppkt/srunet34_synthetic-24rooms.py): resnet18-w32_synthetic-seg.py trained on
# the 24 pre-training rooms (seed 1) instead of the demo's 4 (seed 0).  It stands in for
# PPKT's ImageNet teacher: labelled 2D data that never shows a room of the labelled 3D
# benchmark (projects/crosspt_mmdet3d/configs/ppkt/gain_*_synthetic.py, seed 0 rooms).
#   python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg_24rooms.py
# Rooms 0-22 train, room 23 is held out for the 2D validation.
_base_ = ['./resnet18-w32_synthetic-seg.py']

data_root = 'data/synthetic_scannet_pretrain'
synthetic_data = dict(num_scenes=24, frames_per_scene=12, seed=1)
train_dataloader = dict(dataset=dict(data_root=data_root, auto_generate=synthetic_data))
val_dataloader = dict(dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
