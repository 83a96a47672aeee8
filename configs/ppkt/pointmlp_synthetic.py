# PPKT with a point-based student: PointMLP's encoder-decoder (the part-segmentation
# network with one dummy category) gives per-point features; 2048 voxel points per
# frame (SampleVoxels pads by repetition / subsamples, also in validation), xyz as the
# per-point input.
#   python tools/train.py configs/ppkt/pointmlp_synthetic.py
_base_ = ['./srunet34_synthetic.py']

num_points = 2048
voxel_size = 0.05
model = dict(
    backbone=dict(
        _delete_=True, type='PointStudent', pass_category=True, feature_mode='xyz',
        backbone=dict(type='PointMLPPartSeg', in_channels=3, embed_dims=32,
                      res_expansion=0.25, dim_expansion=(2, 2, 2, 1),
                      pre_blocks=(1, 1, 2, 1), pos_blocks=(1, 1, 2, 1),
                      de_dims=(256, 128, 128, 96), de_blocks=(1, 1, 1, 1),
                      gmp_dim=64, cls_dim=64, num_categories=1)),
    voxel_size=voxel_size)
train_pipeline = [
    dict(type='LoadRGBDFrame'),
    dict(type='RandomHorizontalFlip2D', prob=0.5),
    dict(type='RandomResizedCrop2D', size=(240, 320), scale=(0.3, 1.0), ratio=(1.2, 1.47),
         min_pairs=1024, min_fraction=0.75, max_tries=10),
    dict(type='RandomScale3D', scale=(0.9, 1.1)),
    dict(type='RandomRotation3D', axis='z'),
    dict(type='ElasticDistortion3D', params=((0.2, 0.4), (0.8, 1.6))),
    dict(type='VoxelizePairs', voxel_size=voxel_size, one_pixel_per_voxel=True,
         feat_mode='rgb'),
    dict(type='SampleVoxels', num_points=num_points),
    dict(type='PackPPKTInputs'),
]
val_pipeline = [
    dict(type='LoadRGBDFrame'),
    dict(type='VoxelizePairs', voxel_size=voxel_size, one_pixel_per_voxel=False,
         feat_mode='rgb', random_keep=False),
    dict(type='SampleVoxels', num_points=num_points),
    dict(type='PackPPKTInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
