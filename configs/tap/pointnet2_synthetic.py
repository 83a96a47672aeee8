# TAP pre-training of PointNet++ (published sizes) on the embedded synthetic
# ShapeNet55-format data (see configs/_base_/tap_pretrain_synthetic.py).
#   python tools/train.py configs/tap/pointnet2_synthetic.py
_base_ = [
    '../_base_/models/tap_pointnet2.py',
    '../_base_/tap_pretrain_synthetic.py',
]
