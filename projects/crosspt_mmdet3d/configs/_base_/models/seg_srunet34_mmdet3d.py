# ScanNet segmentation with the SR-UNet34 (Res16UNet34C) student inside mmdet3d's
# EncoderDecoder3D (SceneBatchEncoderDecoder3D: the stock segmentor, which also trains on
# batches of whole scenes of different sizes): voxelise each sample (mean of its points'
# features) -> SR-UNet34 -> 96-d voxel features gathered back to every point -> 1x1 conv
# classifier.
# Backbone keys equal crosspt's SRUNet (PPKT's `backbone.`), so a PPKT checkpoint loads
# with every key matched; the reporting loader is spelt 'crosspt.Pretrained' in this
# mmdet3d-scoped config.  Input features: RGB / 255 (NormalizePointsColor), 2 cm voxels,
# fine-tuning BN momentum 0.02 (docs/methods/ppkt.md, '3D student').
model = dict(
    type='SceneBatchEncoderDecoder3D',
    data_preprocessor=dict(type='Det3DDataPreprocessor'),
    backbone=dict(
        type='SRUNetSegBackbone', voxel_size=0.02, in_channels=3, feature_keys=('rgb', ),
        out_channels=None, stem_channels=32, planes=(32, 64, 128, 256, 256, 128, 96, 96),
        layers=(2, 3, 4, 6, 2, 2, 2, 2), stem_kernel_size=3, bn_momentum=0.02),
    decode_head=dict(
        type='PointFeatureSegHead', in_channels=96, channels=96, num_classes=20,
        ignore_index=20, dropout_ratio=0.0,
        loss_decode=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, class_weight=None,
                         loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
