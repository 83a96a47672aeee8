# ScanNet v2 semantic segmentation, SR-UNet34 from scratch (the baseline beside
# srunet34_ft_scannet-seg.py; same recipe).  PointContrast / PPKT's sparse-conv protocol:
# whole scenes voxelised at 2 cm, with PointContrast's augmentations (docs/finetuning.md,
# 'Whole-scene segmentation protocol'); mmdet3d's PointNet++ patch protocol is
# srunet34_scratch_scannet-seg_patch.py.
#   bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_scannet-seg.py 4
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/scannet_seg_mmdet3d.py',
    '../_base_/schedules/seg_sgd_poly_15k.py',
    '../_base_/mmdet3d_runtime.py',
]
default_hooks = dict(checkpoint=dict(save_best='miou', rule='greater'))
