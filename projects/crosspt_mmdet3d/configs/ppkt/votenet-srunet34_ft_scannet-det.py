# ScanNet v2 detection with mmdet3d's VoteNet on an SR-UNet34 initialised from a PPKT
# checkpoint (configs/ppkt/srunet34_1xb24-60k_scannet.py): PPKT's detection protocol, same recipe
# as votenet-srunet34_scratch_scannet-det.py.  Every SR-UNet34 tensor loads into
# model.backbone.encoder (the key report says 'missing 0'); the vote and box layers
# start from scratch.
#   CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth \
#     bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/votenet-srunet34_ft_scannet-det.py 8
_base_ = ['./votenet-srunet34_scratch_scannet-det.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(encoder=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.'))))
