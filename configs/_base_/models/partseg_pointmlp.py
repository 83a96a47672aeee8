# PointMLP part segmentor as TAP fine-tunes it on ShapeNetPart (docs/methods/tap.md,
# 'ShapeNetPart fine-tuning'):
# xyz + normals input (6-d embedding; the 4-d pre-trained embedding weight is not
# loaded, as in TAP's loader), 4 PointMLP stages (2048 -> 1024 -> 512 -> 256 -> 128),
# 3-NN feature propagation decoder 512/256/128/128 with 4 blocks per step, global
# context 64 + shape-class 64, classifier 256 -> 128 -> 50, Poly-1 focal loss on the
# log-softmax outputs (TAP's quirk), predictions restricted to the shape's own parts
# and refined (TAP's `refine: True`).
model = dict(
    type='PointPartSegmentor',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='PointMLPPartSeg', in_channels=6, embed_dims=64, res_expansion=1.0,
        dim_expansion=(2, 2, 2, 2), pre_blocks=(2, 2, 2, 2), pos_blocks=(2, 2, 2, 2),
        k_neighbors=(24, 24, 24, 24), reducers=(2, 2, 2, 2),
        de_dims=(512, 256, 128, 128), de_blocks=(4, 4, 4, 4), gmp_dim=64, cls_dim=64),
    head=dict(
        type='PartSegHead', in_channels=256, num_classes=50, hidden_channels=128,
        dropout=0.5, act=None,  # TAP: Conv1d + BN + Dropout + Conv1d, no activation
        loss=dict(type='Poly1FocalLoss', epsilon=1.0, alpha=0.25, gamma=2.0,
                  input='log_softmax')),
    restrict_to_category=True,
    refine=True)
