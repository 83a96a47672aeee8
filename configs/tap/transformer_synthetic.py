# TAP pre-training of a small standard Transformer on the embedded synthetic
# ShapeNet55-format data (see configs/_base_/tap_pretrain_synthetic.py), with the
# Transformer's pre-training optimizer (AdamW lr 5e-4, wd 5e-4).
# Shrunk for a 2-core CPU: 192-d tokens, 4 blocks, 3 heads (64 dims per head as in the
# published 384/6), 64 groups of 32 points in balls of r = 0.2 (the published model:
# 384-d, 12 blocks, 256 groups, r = 0.1; configs/tap/transformer_1xb32-100e_shapenet55.py).
#   python tools/train.py configs/tap/transformer_synthetic.py
_base_ = [
    '../_base_/models/tap_transformer.py',
    '../_base_/tap_pretrain_synthetic.py',
]

model = dict(
    backbone=dict(embed_dims=192, depth=4, num_heads=3, num_groups=64, group_size=32,
                  group_radius=0.2),
    memory_builder=dict(in_channels=192))
optim_wrapper = dict(optimizer=dict(lr=5e-4, weight_decay=5e-4))
