# ScanNet-format segmentation on the embedded synthetic scenes, SR-UNet34 from scratch
# (CPU demo of srunet34_scratch_scannet-seg.py; data generated on first use), with its
# whole-scene protocol: every room once per epoch, PointContrast's augmentations, 2 rooms
# per batch (mmdet3d's patch protocol: srunet34_scratch_scannet-seg_patch_synthetic.py).
#   python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_scannet-seg_synthetic.py
# Shrunk for a 2-core CPU (see the dataset and schedule bases): 5 cm voxels instead of
# 2 cm, for speed (the voxel size configs/ppkt/srunet34_synthetic.py pre-trains with),
# and BN momentum 0.1 instead
# of 0.02 (at 0.02 the running statistics are still near their initial values after a
# few dozen iterations, and the val mIoU of a short run would measure only that).
# Limited labels: --cfg-options train_dataloader.dataset.scene_fraction=0.25
_base_ = [
    '../_base_/models/seg_srunet34_mmdet3d.py',
    '../_base_/datasets/synthetic_scannet_seg_mmdet3d.py',
    '../_base_/schedules/seg_adamw_150it_synthetic.py',
    '../_base_/mmdet3d_runtime.py',
]
model = dict(backbone=dict(voxel_size=0.05, bn_momentum=0.1))
default_hooks = dict(checkpoint=dict(interval=150, max_keep_ckpts=1, save_best='miou',
                                     rule='greater'))
train_pipeline = {{_base_.scene_train_pipeline}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, scene_idxs='every_scene'))
