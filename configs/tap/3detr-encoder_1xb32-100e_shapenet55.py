# TAP pre-training of the 3DETR encoder on ShapeNet55 (MVCNN renders, published TAP
# recipe of configs/_base_/tap_pretrain_shapenet55.py); its `backbone.` weights start
# projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det.py.
#   bash tools/dist_train.sh configs/tap/3detr-encoder_1xb32-100e_shapenet55.py 8
_base_ = [
    '../_base_/models/tap_3detr_encoder.py',
    '../_base_/tap_pretrain_shapenet55.py',
]
