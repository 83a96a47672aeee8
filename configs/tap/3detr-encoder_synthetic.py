# TAP pre-training of the 3DETR encoder on the embedded synthetic ShapeNet55-format data
# (see configs/_base_/tap_pretrain_synthetic.py); its `backbone.` weights start
# projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py.
#   python tools/train.py configs/tap/3detr-encoder_synthetic.py
_base_ = [
    '../_base_/models/tap_3detr_encoder.py',
    '../_base_/tap_pretrain_synthetic.py',
]
