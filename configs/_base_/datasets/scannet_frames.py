# ScanNet RGB-D frames for PPKT pre-training (docs/methods/ppkt.md, 'Pre-training data'):
# every 25th frame of
# every scan, extracted by
#   python tools/dataset_converters/scannet_sens.py data/scannet/scans data/scannet/frames \
#       --frame-skip 25
# into data/scannet/frames/<scene>/{color,depth,pose,intrinsic}.  Colour is resized to
# the 480x640 depth resolution and paired pixel-exactly through intrinsic_depth.
data_root = 'data/scannet/frames'
voxel_size = 0.025
image_size = (480, 640)

train_pipeline = [
    dict(type='LoadRGBDFrame'),
    # 2D: horizontal flip + random resized crop back to 480x640 (PPKT: "horizontal flip,
    # random resize"; the ranges are [UNVERIFIED], ratio kept near 4:3)
    dict(type='RandomHorizontalFlip2D', prob=0.5),
    dict(type='RandomResizedCrop2D', size=image_size, scale=(0.3, 1.0), ratio=(1.2, 1.47),
         min_pairs=1024, min_fraction=0.75, max_tries=10),
    # 3D: scaling, rotation, elastic distortion (PPKT; parameters [UNVERIFIED]:
    # MinkowskiEngine conventions, elastic granularity/magnitude in metres)
    dict(type='RandomScale3D', scale=(0.9, 1.1)),
    dict(type='RandomRotation3D', axis='z'),
    dict(type='ElasticDistortion3D', params=((0.2, 0.4), (0.8, 1.6))),
    dict(type='VoxelizePairs', voxel_size=voxel_size, one_pixel_per_voxel=True,
         feat_mode='ones'),
    dict(type='PackPPKTInputs'),
]

train_dataloader = dict(
    batch_size=24, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ScanNetFramesDataset', data_root=data_root, frame_skip=25,
                 coordinate='world', invalid_frames='skip',
                 # reading ~100k depth PNGs to find empty ones takes long; empty frames
                 # then raise an error naming the file when they are loaded
                 check_depth_at_init=False,
                 pipeline=train_pipeline))
