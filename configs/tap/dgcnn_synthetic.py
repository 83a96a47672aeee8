# TAP pre-training of DGCNN (published sizes) on the embedded synthetic
# ShapeNet55-format data (see configs/_base_/tap_pretrain_synthetic.py), with DGCNN's
# pre-training lr 1e-3.
#   python tools/train.py configs/tap/dgcnn_synthetic.py
_base_ = [
    '../_base_/models/tap_dgcnn.py',
    '../_base_/tap_pretrain_synthetic.py',
]

optim_wrapper = dict(optimizer=dict(lr=1e-3))
