# srunet34_ft_scannet-seg.py (SR-UNet34 from a PPKT checkpoint) on mmdet3d's PointNet++
# patch protocol, the fine-tuning counterpart of srunet34_scratch_scannet-seg_patch.py.
#   CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth \
#     bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg_patch.py 4
_base_ = ['./srunet34_scratch_scannet-seg_patch.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
