# srunet34_ft_scannet-seg_synthetic.py (SR-UNet34 from the embedded PPKT pre-training) on
# mmdet3d's patch protocol, as srunet34_scratch_scannet-seg_patch_synthetic.py; both
# overrides restated over the scratch twin (inheritance stays 3 levels deep).
#   CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth \
#     python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg_patch_synthetic.py
_base_ = ['./srunet34_scratch_scannet-seg_synthetic.py']
pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
train_pipeline = {{_base_.patch_train_pipeline}}
train_dataloader = dict(dataset=dict(
    pipeline=train_pipeline,
    scene_idxs='seg_info/train_resampled_scene_idxs.npy'))  # under data_root
