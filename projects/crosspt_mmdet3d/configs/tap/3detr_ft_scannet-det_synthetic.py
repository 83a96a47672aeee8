# 3detr_scratch_scannet-det_synthetic.py with the encoder initialised from TAP
# pre-training on the embedded ShapeNet55-format objects.
#   python tools/train.py configs/tap/3detr-encoder_synthetic.py --work-dir work_dirs/tap_3detr
#   CROSSPT_PRETRAINED=work_dirs/tap_3detr/epoch_20.pth \
#     python tools/train.py projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py
_base_ = ['./3detr_scratch_scannet-det_synthetic.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(encoder=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
