# ScanNet v2 semantic segmentation, SR-UNet34 initialised from a PPKT checkpoint
# (configs/ppkt/srunet34_1xb24-60k_scannet.py).  PPKT's protocol (docs/methods/ppkt.md, 'ScanNet
# semantic segmentation'): 15k iterations on
# 4 GPUs; every pretrained weight loads, the classifier starts from scratch.
#   CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth \
#     bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/srunet34_ft_scannet-seg.py 4
# Label fractions: srunet34_ft_scannet-seg_{15,30,50}pct.py (or
#   --cfg-options train_dataloader.dataset.scene_fraction=0.15).
_base_ = ['./srunet34_scratch_scannet-seg.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')))
