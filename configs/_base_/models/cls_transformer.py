# Standard Transformer classifier as TAP fine-tunes it (docs/methods/tap.md, 'Standard
# Transformer'): xyz input (the
# preprocessor keeps the first 3 feature channels), 256 groups (ball r = 0.1, 32 points),
# 12 blocks of 384 dims, global feature cat(cls token, max over tokens) = 768-d,
# ClsHead 512-256-K, label-smoothed cross-entropy 0.3.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor', feature_channels=3),
    backbone=dict(
        type='StandardTransformer', in_channels=3, embed_dims=384, depth=12, num_heads=6,
        drop_path_rate=0.1, num_groups=256, group_size=32, group_radius=0.1),
    head=dict(type='ClsHead', in_channels=768, hidden_dims=(512, 256), dropout=0.5,
              loss=dict(type='SmoothCrossEntropyLoss', label_smoothing=0.3)))
