# Embedded-data counterpart of votenet-srunet34_ft_scannet-det.py: mmdet3d's VoteNet on
# the SR-UNet34 of the PPKT pre-training on the embedded RGB-D frames
# (configs/ppkt/srunet34_synthetic.py: RGB input, 10 cm voxels), same recipe as the
# scratch config beside it.
#   python tools/train.py configs/ppkt/srunet34_synthetic.py --work-dir work_dirs/ppkt_srunet34
#   CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth \
#     python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/votenet-srunet34_ft_scannet-det_synthetic.py
_base_ = ['./votenet-srunet34_scratch_scannet-det_synthetic.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(encoder=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.'))))
