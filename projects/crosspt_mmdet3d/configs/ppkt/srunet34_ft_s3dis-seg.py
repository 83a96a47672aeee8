# S3DIS Area-5 semantic segmentation, SR-UNet34 initialised from a PPKT checkpoint
# (configs/ppkt/srunet34_1xb24-60k_scannet.py); every pretrained weight loads, the
# classifier starts from scratch.  Recipe: srunet34_scratch_s3dis-seg.py.
#   CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth \
#     python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_s3dis-seg.py
_base_ = ['./srunet34_scratch_s3dis-seg.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
