# TAP pre-training of PointMLP on the embedded synthetic ShapeNet55-format data
# (see configs/_base_/tap_pretrain_synthetic.py for how the run is shrunk).
# PointMLP-elite sizes (downstream.md §4.1): 256-d features at 64 centres.
#   python tools/train.py configs/tap/pointmlp_synthetic.py
_base_ = [
    '../_base_/models/tap_pointmlp.py',
    '../_base_/tap_pretrain_synthetic.py',
]

model = dict(
    backbone=dict(
        embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
        pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1)),
    memory_builder=dict(in_channels=256))
