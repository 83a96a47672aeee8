# TAP's backbone-independent parts (docs/methods/tap.md, 'Pipeline and tensor shapes').
# A backbone config adds
# `model.backbone` and sets `model.memory_builder.in_channels` to the backbone's
# per-centre feature width (required: there is no default).
model = dict(
    type='TAP',
    data_preprocessor=dict(type='TAPDataPreprocessor'),
    query_generator=dict(
        type='TAPQueryGenerator', img_size=224, obj_size=200, downsample_ratio=32,
        direction='column'),  # 'column' = released code (constant); 'row' = per-view R^T e_z
    memory_builder=dict(
        type='TAPMemoryBuilder', embed_dims=256,
        use_pad_token=False),  # the paper's pad token; unused in the released code
    photograph=dict(
        type='TAPPhotographModule', embed_dims=256, query_dims=8, depth=6, num_heads=32,
        head_dims=32, ffn_ratio=4, dropout=0.1),
    head=dict(
        type='TAPViewHead',
        decoder=dict(type='TAPViewDecoder', in_channels=256, out_channels=3),
        loss=dict(type='FgBgWeightedMSELoss', fg_weight=20.0, bg_weight=1.0,
                  fg_threshold=1.0)),
)
