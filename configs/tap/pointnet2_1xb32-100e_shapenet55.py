# TAP pre-training of PointNet++ on ShapeNet55 (published recipe, docs/methods/tap.md,
# 'Pre-training recipe'):
# AdamW lr 2e-3, wd 0.05, 100 epochs cosine to 1e-5, grad clip 10, batch 32 per GPU.
#   bash tools/dist_train.sh configs/tap/pointnet2_1xb32-100e_shapenet55.py 8
_base_ = [
    '../_base_/models/tap_pointnet2.py',
    '../_base_/tap_pretrain_shapenet55.py',
]
