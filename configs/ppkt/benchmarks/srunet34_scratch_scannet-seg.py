# ScanNet v2 semantic segmentation, SR-UNet34 from scratch (the baseline beside
# srunet34_ft_scannet-seg.py; same recipe).
#   bash tools/dist_train.sh configs/ppkt/benchmarks/srunet34_scratch_scannet-seg.py 4
_base_ = [
    '../../_base_/models/seg_srunet34_mmdet3d.py',
    '../../_base_/datasets/scannet_seg_mmdet3d.py',
    '../../_base_/schedules/seg_sgd_poly_15k.py',
    '../../_base_/mmdet3d_runtime.py',
]
default_hooks = dict(checkpoint=dict(save_best='miou', rule='greater'))
