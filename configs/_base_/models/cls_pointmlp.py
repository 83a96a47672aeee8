# PointMLP classifier as TAP fine-tunes it (docs/methods/tap.md, 'PointMLP' and
# 'Classification head'): xyz + height input,
# global max-pooled 1024-d feature, ClsHead 512-256-K (BN, dropout 0.5),
# label-smoothed cross-entropy 0.3.  Set model.head.num_classes in the dataset config.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='PointMLP', in_channels=4, embed_dims=64, res_expansion=1.0,
        dim_expansion=(2, 2, 2, 2), pre_blocks=(2, 2, 2, 2), pos_blocks=(2, 2, 2, 2),
        k_neighbors=(24, 24, 24, 24), reducers=(2, 2, 2, 2)),
    head=dict(type='ClsHead', in_channels=1024, hidden_dims=(512, 256), dropout=0.5,
              loss=dict(type='SmoothCrossEntropyLoss', label_smoothing=0.3)))
