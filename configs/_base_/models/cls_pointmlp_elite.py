# PointMLP-elite classifier (docs/methods/benchmarks.md, 'PointMLP': embed 32,
# res_expansion 0.25,
# dim_expansion 2/2/2/1, blocks 1/1/2/1): 256-d global feature.  The size the
# embedded-data TAP run (configs/tap/pointmlp_synthetic.py) pre-trains.
_base_ = ['./cls_pointmlp.py']
model = dict(
    backbone=dict(embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
                  pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1)),
    head=dict(in_channels=256))
