# pointmlp_scratch_scannet-seg_synthetic.py initialised from the PPKT point-student
# pre-training (configs/ppkt/pointmlp_synthetic.py; its PointMLP is `backbone.net.`).
#   python tools/train.py configs/ppkt/pointmlp_synthetic.py --work-dir work_dirs/ppkt_pointmlp
#   CROSSPT_PRETRAINED=work_dirs/ppkt_pointmlp/iter_360.pth \
#     python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/pointmlp_ft_scannet-seg_synthetic.py
_base_ = ['./pointmlp_scratch_scannet-seg_synthetic.py']

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(backbone=dict(
    init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.net.')))
