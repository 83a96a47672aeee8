# TAP with the standard Transformer (docs/methods/tap.md, 'Standard Transformer'): 384-d
# tokens at 256 FPS centres
# (ball query r = 0.1, 32 points).  The Transformer reads xyz only: the data
# preprocessor keeps the first 3 feature channels of xyz + height, as TAP's training
# loop does (x[:, :, :in_channels]).
_base_ = ['./tap.py']
model = dict(
    data_preprocessor=dict(type='TAPDataPreprocessor', feature_channels=3),
    backbone=dict(
        type='StandardTransformer',
        in_channels=3,  # xyz only
        embed_dims=384,
        depth=12,
        num_heads=6,
        drop_path_rate=0.1,
        num_groups=256,
        group_size=32,
        group_radius=0.1),
    memory_builder=dict(in_channels=384))
