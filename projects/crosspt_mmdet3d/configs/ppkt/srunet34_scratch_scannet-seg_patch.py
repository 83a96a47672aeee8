# ScanNet v2 semantic segmentation, SR-UNet34 from scratch, trained on mmdet3d's
# PointNet++ patches (8192 points in 1.5 m columns, no augmentation) instead of the
# whole-scene protocol of srunet34_scratch_scannet-seg.py; same model, schedule and
# whole-scene evaluation.
#   bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_scannet-seg_patch.py 4
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/scannet_seg_patch_mmdet3d.py',
    '../_base_/schedules/seg_sgd_poly_15k.py',
    '../_base_/mmdet3d_runtime.py',
]
default_hooks = dict(checkpoint=dict(save_best='miou', rule='greater'))
