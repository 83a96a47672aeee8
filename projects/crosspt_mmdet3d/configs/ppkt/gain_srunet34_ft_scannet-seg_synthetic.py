# PPKT arm of gain_srunet34_scratch_scannet-seg_synthetic.py: the same recipe and rooms,
# SR-UNet34 initialised from PPKT pre-training (configs/ppkt/srunet34_synthetic-24rooms.py)
#   CROSSPT_PRETRAINED=work_dirs/ppkt_24rooms/iter_600.pth python tools/train.py THIS_CONFIG
_base_ = ['./gain_srunet34_scratch_scannet-seg_synthetic.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
