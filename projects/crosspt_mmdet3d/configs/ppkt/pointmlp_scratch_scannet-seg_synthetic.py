# ScanNet-format segmentation on the embedded synthetic scenes with a point-based
# backbone (the PPKT PointMLP student), from scratch; same data and schedule as
# srunet34_scratch_scannet-seg_synthetic.py; sliding-window inference (4096 points,
# 3 m blocks, stride 1.5 m).
#   python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/pointmlp_scratch_scannet-seg_synthetic.py
_base_ = [
    '../_base_/models/seg_pointmlp_mmdet3d.py',
    '../_base_/datasets/synthetic_scannet_seg_mmdet3d.py',
    '../_base_/schedules/seg_adamw_150it_synthetic.py',
    '../_base_/mmdet3d_runtime.py',
]
default_hooks = dict(checkpoint=dict(interval=150, max_keep_ckpts=1, save_best='miou',
                                     rule='greater'))
