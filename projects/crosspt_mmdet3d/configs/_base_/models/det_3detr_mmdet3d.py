# 3DETR (docs/methods/3detr.md) as an mmdet3d detector: crosspt's ThreeDETRDetector
# (pure-PyTorch FPS / ball query, Hungarian matching per decoder layer) behind mmdet3d's
# Det3DDataPreprocessor, data samples and IndoorMetric.  Every value is the release's
# ScanNet default.  The encoder loads a TAP checkpoint's `backbone.` (a
# configs/tap/3detr-encoder_*.py run) through encoder.init_cfg.
model = dict(
    type='ThreeDETR3D',
    num_classes=18,
    use_dims=[0, 1, 2],          # xyz only (3DETR's ScanNet default, no colour)
    data_preprocessor=dict(type='Det3DDataPreprocessor'),
    encoder=dict(type='ThreeDETREncoder', in_channels=0, encoder_type='vanilla',
                 preenc_npoints=2048, preenc_radius=0.2, preenc_nsample=64,
                 preenc_mlp=(64, 128, 256), enc_dim=256, enc_nhead=4, enc_ffn_dim=128,
                 enc_dropout=0.1, num_layers=3),
    dec_dim=256, dec_nhead=4, dec_ffn_dim=256, dec_dropout=0.1, num_decoder_layers=8,
    nqueries=256, head_dropout=0.3, num_angle_bins=1,
    criterion=dict(matcher=dict(cost_giou=2.0, cost_class=1.0, cost_center=0.0,
                                cost_objectness=0.0),
                   loss_weights=dict(cls=1.0, center=5.0, size=1.0, giou=1.0,
                                     angle_cls=0.1, angle_reg=0.5),
                   no_object_weight=0.25),
    test_cfg=dict(remove_empty_box=True, min_points_in_box=5, nms=True, cls_nms=True,
                  nms_iou=0.25, per_class_proposal=True, conf_thresh=0.05))
