# PointNet++ classifier as TAP fine-tunes it (docs/methods/tap.md, 'PointNet++'): stage 3
# is the GroupAll form
# (same weights as the pre-training 'local' form), 1024-d global feature,
# ClsHead 512-256-K, label-smoothed cross-entropy 0.3.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(
        type='PointNet2', in_channels=4, strides=(2, 4, 1), radius=(0.2, 0.4, None),
        num_samples=(32, 64, None),
        mlps=([64, 64, 128], [128, 128, 256], [256, 512, 1024]), stage3='global'),
    head=dict(type='ClsHead', in_channels=1024, hidden_dims=(512, 256), dropout=0.5,
              loss=dict(type='SmoothCrossEntropyLoss', label_smoothing=0.3)))
