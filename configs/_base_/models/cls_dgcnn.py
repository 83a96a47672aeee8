# DGCNN classifier as TAP fine-tunes it (docs/methods/tap.md, 'DGCNN'): k = 20,
# EdgeConv 64/64/128/256, fusion to 1024, global max || mean = 2048-d,
# ClsHead 512-256-K, label-smoothed cross-entropy 0.3.
model = dict(
    type='PointClassifier',
    data_preprocessor=dict(type='PointDataPreprocessor'),
    backbone=dict(type='DGCNN', in_channels=4, k=20),
    head=dict(type='ClsHead', in_channels=2048, hidden_dims=(512, 256), dropout=0.5,
              loss=dict(type='SmoothCrossEntropyLoss', label_smoothing=0.3)))
