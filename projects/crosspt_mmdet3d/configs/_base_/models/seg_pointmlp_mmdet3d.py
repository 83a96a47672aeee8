# ScanNet segmentation with a point-based backbone inside mmdet3d's EncoderDecoder3D:
# the PointMLP encoder-decoder of crosspt's PPKT point student
# (configs/ppkt/pointmlp_synthetic.py; one dummy category, xyz centred per patch as the
# per-point input), 224-d per-point features -> 1x1 conv classifier.  Keys equal the PPKT
# checkpoint's `backbone.net.`.  Sliding-window inference over each whole scene, as
# mmdet3d's PointNet++ ScanNet configs do.
model = dict(
    type='EncoderDecoder3D',
    data_preprocessor=dict(type='Det3DDataPreprocessor'),
    backbone=dict(
        type='PointMLPSegBackbone', in_channels=3, feature_keys=('xyz', ), num_categories=1,
        embed_dims=32, res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
        pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1), de_dims=(256, 128, 128, 96),
        de_blocks=(1, 1, 1, 1), gmp_dim=64, cls_dim=64),
    decode_head=dict(
        type='PointFeatureSegHead', in_channels=224, channels=128, mlp_channels=(128, ),
        num_classes=20, ignore_index=20, dropout_ratio=0.5,
        loss_decode=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, class_weight=None,
                         loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', num_points=4096, block_size=3.0, sample_rate=0.5,
                  use_normalized_coord=False, batch_size=2))
