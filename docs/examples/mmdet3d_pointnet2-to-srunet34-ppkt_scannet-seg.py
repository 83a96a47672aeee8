# Worked example of docs/mmdet3d_integration.md: mmdet3d 1.4.0's own ScanNet semantic
# segmentation config, with its PointNet++ replaced by crosspt's SR-UNet34 initialised
# from a PPKT checkpoint.  Everything else -- ScanNetSegDataset, the pipelines,
# EncoderDecoder3D, Det3DDataPreprocessor, SegMetric, the Adam + cosine schedule over
# 200 epochs, the runtime -- comes unchanged from the stock file shipped inside the
# installed mmdet3d package (mmdet3d/.mim/configs/...).
#   CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth \
#     python tools/train.py docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py
# Built, loaded from a published checkpoint and run on a synthetic scene by
# tests/test_docs/test_docs_examples.py.
_base_ = ['mmdet3d::pointnet2/pointnet2_ssg_2xb16-cosine-200e_scannet-seg.py']

# registers SRUNetSegBackbone, PointFeatureSegHead, ... in mmdet3d's registries
custom_imports = dict(imports=['projects.crosspt_mmdet3d.crosspt_mmdet3d'],
                      allow_failed_imports=False)

pretrained = '{{$CROSSPT_PRETRAINED:none}}'
model = dict(
    backbone=dict(
        _delete_=True,               # drop PointNet2SASSG's arguments
        type='SRUNetSegBackbone',    # (B, N, 3 + C) points -> dict(point_features=(B, 96, N))
        voxel_size=0.02, in_channels=3, feature_keys=('rgb', ), bn_momentum=0.02,
        # 'crosspt.' is required in this mmdet3d-scoped config: plain 'Pretrained' would be
        # mmengine's loader, which skips mismatching keys without a word
        init_cfg=dict(type='crosspt.Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(
        _delete_=True,               # PointNet2Head expects PointNet++'s multi-scale outputs
        type='PointFeatureSegHead', in_channels=96, channels=96, num_classes=20,
        ignore_index=20, dropout_ratio=0.0,
        loss_decode=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False,
                         class_weight=None, loss_weight=1.0)),
    # the sparse U-Net sees each whole scene at once (stock: 8192-point sliding windows)
    test_cfg=dict(_delete_=True, mode='whole'))

# Stock mmdet3d 1.4.0's scannet-seg.py test pipeline lacks PointSegClassMapping, so
# SegMetric would compare predictions 0..19 with raw NYU40 ids; add it back.
test_pipeline = [
    dict(type='LoadPointsFromFile', coord_type='DEPTH', shift_height=False, use_color=True,
         load_dim=6, use_dim=[0, 1, 2, 3, 4, 5]),
    dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_mask_3d=False, with_seg_3d=True),
    dict(type='PointSegClassMapping'),
    dict(type='NormalizePointsColor', color_mean=None),
    dict(type='Pack3DDetInputs', keys=['points']),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# Stock scannet-seg.py gives scene_idxs as data_root + 'seg_info/...', which
# ScanNetSegDataset joins to data_root a second time (data/scannet/data/scannet/...);
# give it relative to data_root.
train_dataloader = dict(dataset=dict(scene_idxs='seg_info/train_resampled_scene_idxs.npy'))
