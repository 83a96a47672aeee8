# srunet34_scratch_scannet-seg_synthetic.py on mmdet3d's patch protocol (the embedded
# dataset base's 4096-point patches in 3 m columns, scenes resampled by size, no
# augmentation): the protocol the embedded SR-UNet34 results before issue 17 used.
#   python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_scratch_scannet-seg_patch_synthetic.py
_base_ = ['./srunet34_scratch_scannet-seg_synthetic.py']
train_pipeline = {{_base_.patch_train_pipeline}}
train_dataloader = dict(dataset=dict(
    pipeline=train_pipeline,
    scene_idxs='seg_info/train_resampled_scene_idxs.npy'))  # under data_root
