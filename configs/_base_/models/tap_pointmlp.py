# TAP with the published PointMLP (tap.md §2, §4): 1024-d features at 64 centres.
model = dict(
    type='TAP',
    data_preprocessor=dict(type='TAPDataPreprocessor'),
    backbone=dict(
        type='PointMLP',
        in_channels=4,  # xyz + height
        embed_dims=64,
        res_expansion=1.0,
        dim_expansion=(2, 2, 2, 2),
        pre_blocks=(2, 2, 2, 2),
        pos_blocks=(2, 2, 2, 2),
        k_neighbors=(24, 24, 24, 24),
        reducers=(2, 2, 2, 2)),
    query_generator=dict(
        type='TAPQueryGenerator', img_size=224, obj_size=200, downsample_ratio=32,
        direction='column'),  # 'column' = released code (constant); 'row' = per-view R^T e_z
    memory_builder=dict(
        type='TAPMemoryBuilder', in_channels=1024, embed_dims=256,
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
