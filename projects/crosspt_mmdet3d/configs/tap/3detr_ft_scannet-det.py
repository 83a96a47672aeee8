# 3DETR on ScanNet v2 with its encoder initialised from TAP pre-training on ShapeNet
# (configs/tap/3detr-encoder_1xb32-100e_shapenet55.py; the TAP paper pretrains the 3DETR encoder this
# way).  Same recipe as 3detr_scratch_scannet-det.py; the decoder and heads start fresh.
#   CROSSPT_PRETRAINED=work_dirs/3detr-encoder_1xb32-100e_shapenet55/epoch_100.pth \
#     bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det.py 1
_base_ = ['./3detr_scratch_scannet-det.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(encoder=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
