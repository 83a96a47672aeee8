# S3DIS Area-5 semantic segmentation, SR-UNet34 from scratch (the baseline beside
# srunet34_ft_s3dis-seg.py; PPKT reports 65.16 mIoU from scratch, 68.28 from PPKT).
# PPKT's recipe (the author's s3dis_train.yaml, docs/methods/ppkt.md, 'S3DIS'): whole rooms
# voxelised at 5 cm, 13 classes, SGD lr 0.1 (momentum 0.9, dampening 0.1, wd 1e-4), poly
# decay over 15k iterations, batch 32 on one GPU, BN momentum 0.02, validation every
# 500 iterations, seed 123.
#   python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_s3dis-seg.py
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/s3dis_seg_mmdet3d.py',
    '../_base_/schedules/seg_sgd_poly_15k.py',
    '../_base_/mmdet3d_runtime.py',
]
model = dict(backbone=dict(voxel_size=0.05),
             decode_head=dict(num_classes=13, ignore_index=13))
train_cfg = dict(val_interval=500)
randomness = dict(seed=123)
default_hooks = dict(checkpoint=dict(interval=500, save_best='miou', rule='greater'))
