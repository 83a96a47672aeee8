# Small standard Transformer classifier (192-d, 4 blocks, 3 heads, 64 groups of 32 in
# r = 0.2 balls): the size the embedded-data TAP run
# (configs/tap/transformer_synthetic.py) pre-trains.  Global feature 384-d.
_base_ = ['./cls_transformer.py']
model = dict(
    backbone=dict(embed_dims=192, depth=4, num_heads=3, num_groups=64, group_size=32,
                  group_radius=0.2),
    head=dict(in_channels=384))
