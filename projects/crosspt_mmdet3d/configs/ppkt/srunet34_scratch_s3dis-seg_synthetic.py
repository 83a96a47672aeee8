# S3DIS-format segmentation on the embedded synthetic rooms, SR-UNet34 from scratch (CPU
# demo of srunet34_scratch_s3dis-seg.py: Areas 1-4 and 6 train, Area 5 is evaluated with
# mmdet3d's SegMetric; data generated on first use).
#   python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_s3dis-seg_synthetic.py
# Shrunk for a 2-core CPU: 10 cm voxels instead of 5 cm (speed), the embedded schedule
# (150 iterations of AdamW instead of 15k of SGD), batch 2, BN momentum 0.1 (as
# srunet34_scratch_scannet-seg_synthetic.py).
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/synthetic_s3dis_seg_mmdet3d.py',
    '../_base_/schedules/seg_adamw_150it_synthetic.py',
    '../_base_/mmdet3d_runtime.py',
]
model = dict(backbone=dict(voxel_size=0.1, bn_momentum=0.1),
             decode_head=dict(num_classes=13, ignore_index=13))
default_hooks = dict(checkpoint=dict(interval=150, max_keep_ckpts=1, save_best='miou',
                                     rule='greater'))
