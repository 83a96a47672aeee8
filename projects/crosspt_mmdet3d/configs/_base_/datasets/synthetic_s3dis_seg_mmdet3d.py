# S3DIS segmentation on embedded synthetic rooms written in exactly mmdet3d's S3DIS format
# (crosspt.synthetic.s3dis_mmdet3d; generated on first use): 6 areas x 2 rooms of 20,000
# points (seed 0) with the 13 S3DIS classes (ceiling, beam and column added to the
# ScanNet-style rooms).  Same pipelines, Area 5 split and evaluator as
# s3dis_seg_mmdet3d.py; batch 2 rooms for a 2-core CPU.
_base_ = ['./s3dis_seg_mmdet3d.py']

data_root = 'data/synthetic_s3dis_mmdet3d/'
synthetic_data = dict(num_areas=6, rooms_per_area=2, num_points=20000, seed=0)
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
val_dataloader = dict(
    num_workers=1, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
