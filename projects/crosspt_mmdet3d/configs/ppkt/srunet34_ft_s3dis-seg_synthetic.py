# Embedded-data counterpart of srunet34_ft_s3dis-seg.py: SR-UNet34 initialised from the
# PPKT pre-training on the embedded RGB-D frames (configs/ppkt/srunet34_synthetic.py),
# same recipe as the scratch config beside it.
#   python tools/train.py configs/ppkt/srunet34_synthetic.py --work-dir work_dirs/ppkt_srunet34
#   CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth \
#     python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_s3dis-seg_synthetic.py
_base_ = ['./srunet34_scratch_s3dis-seg_synthetic.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
