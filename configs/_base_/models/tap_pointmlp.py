# TAP with the published PointMLP (docs/methods/tap.md, 'PointMLP'): 1024-d features at
# 64 centres.
_base_ = ['./tap.py']
model = dict(
    backbone=dict(
        type='PointMLP',
        in_channels=4,  # xyz + height
        embed_dims=64,
        res_expansion=1.0,
        dim_expansion=(2, 2, 2, 2),
        pre_blocks=(2, 2, 2, 2),
        pos_blocks=(2, 2, 2, 2),
        k_neighbors=(24, 24, 24, 24),
        reducers=(2, 2, 2, 2)),
    memory_builder=dict(in_channels=1024))
