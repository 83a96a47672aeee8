# mmdet3d's own VoteNet (detector, VoteModule, VoteHead losses and post-processing) with
# crosspt's SR-UNet34 as the backbone, for ScanNet's 18 classes: the PPKT / PointContrast
# detection protocol (docs/methods/ppkt.md, 'Detection').
# - backbone: PointBackboneAdapter gives the sparse U-Net mmdet3d's point-backbone outputs
#   (fp_xyz / fp_features / fp_indices): 96-d per-point features of the voxelised scene
#   (2.5 cm voxels, three constant ones per point as in the PPKT pre-training of
#   configs/ppkt/srunet34_1xb24-60k_scannet.py), 1024 seed points by furthest point sampling (the
#   number of seeds PointNet2SASSG hands VoteNet).  The encoder keys equal crosspt's SRUNet
#   (PPKT's 'backbone.'), so a PPKT checkpoint loads into model.backbone.encoder.
# - head: CrossptVoteHead / CrossptPointSAModule are mmdet3d's VoteHead / PointSAModule
#   with CPU paths for their CUDA-only mmcv ops (same parameters); every other setting is
#   mmdet3d's _base_/models/votenet.py + votenet_8xb8_scannet-3d.py, with the vote module
#   and aggregation widths following the 96-d features instead of PointNet++'s 256.
model = dict(
    type='VoteNet',
    data_preprocessor=dict(type='Det3DDataPreprocessor'),
    backbone=dict(
        type='PointBackboneAdapter', num_seeds=1024,
        encoder=dict(
            type='SRUNetSegBackbone', voxel_size=0.025, in_channels=3,
            feature_keys=('ones', ), out_channels=None, stem_channels=32,
            planes=(32, 64, 128, 256, 256, 128, 96, 96), layers=(2, 3, 4, 6, 2, 2, 2, 2),
            stem_kernel_size=3, bn_momentum=0.02)),
    bbox_head=dict(
        type='CrossptVoteHead',
        num_classes=18,
        bbox_coder=dict(
            type='PartialBinBasedBBoxCoder', num_sizes=18, num_dir_bins=1, with_rot=False,
            # mmdet3d's ScanNet mean box sizes, in class order
            mean_sizes=[[0.76966727, 0.8116021, 0.92573744], [1.876858, 1.8425595, 1.1931566],
                        [0.61328, 0.6148609, 0.7182701], [1.3955007, 1.5121545, 0.83443564],
                        [0.97949594, 1.0675149, 0.6329687], [0.531663, 0.5955577, 1.7500148],
                        [0.9624706, 0.72462326, 1.1481868], [0.83221924, 1.0490936, 1.6875663],
                        [0.21132214, 0.4206159, 0.5372846], [1.4440073, 1.8970833, 0.26985747],
                        [1.0294262, 1.4040797, 0.87554324], [1.3766412, 0.65521795, 1.6813129],
                        [0.6650819, 0.71111923, 1.298853], [0.41999173, 0.37906948, 1.7513971],
                        [0.59359556, 0.5912492, 0.73919016], [0.50867593, 0.50656086, 0.30136237],
                        [1.1511526, 1.0546296, 0.49706793], [0.47535285, 0.49249494, 0.5802117]]),
        vote_module_cfg=dict(
            in_channels=96, vote_per_seed=1, gt_per_seed=3, conv_channels=(96, 96),
            conv_cfg=dict(type='Conv1d'), norm_cfg=dict(type='BN1d'), norm_feats=True,
            vote_loss=dict(type='ChamferDistance', mode='l1', reduction='none',
                           loss_dst_weight=10.0)),
        vote_aggregation_cfg=dict(
            type='CrossptPointSAModule', num_point=256, radius=0.3, num_sample=16,
            mlp_channels=[96, 128, 128, 128], use_xyz=True, normalize_xyz=True),
        pred_layer_cfg=dict(in_channels=128, shared_conv_channels=(128, 128), bias=True),
        objectness_loss=dict(type='mmdet.CrossEntropyLoss', class_weight=[0.2, 0.8],
                             reduction='sum', loss_weight=5.0),
        center_loss=dict(type='ChamferDistance', mode='l2', reduction='sum',
                         loss_src_weight=10.0, loss_dst_weight=10.0),
        dir_class_loss=dict(type='mmdet.CrossEntropyLoss', reduction='sum', loss_weight=1.0),
        dir_res_loss=dict(type='mmdet.SmoothL1Loss', reduction='sum', loss_weight=10.0),
        size_class_loss=dict(type='mmdet.CrossEntropyLoss', reduction='sum', loss_weight=1.0),
        size_res_loss=dict(type='mmdet.SmoothL1Loss', reduction='sum', loss_weight=10.0 / 3.0),
        semantic_loss=dict(type='mmdet.CrossEntropyLoss', reduction='sum', loss_weight=1.0)),
    train_cfg=dict(pos_distance_thr=0.3, neg_distance_thr=0.6, sample_mode='vote'),
    test_cfg=dict(sample_mode='seed', nms_thr=0.25, score_thr=0.05, per_class_proposal=True))
