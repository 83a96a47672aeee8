# mmdet3d's VoteNet on SR-UNet34 from scratch, on the embedded synthetic scenes in
# mmdet3d's ScanNet format (CPU demo of votenet-srunet34_scratch_scannet-det.py; data
# generated on first use).
#   python tools/train.py projects/crosspt_mmdet3d/configs/ppkt/votenet-srunet34_scratch_scannet-det_synthetic.py
# Shrunk for a 2-core CPU:
#   - 5 classes (see the dataset base) and their ScanNet mean box sizes;
#   - the SR-UNet34 input of configs/ppkt/srunet34_synthetic.py: RGB, 10 cm voxels;
#     BN momentum 0.1 instead of 0.02 (a short run would otherwise evaluate with nearly
#     initial running statistics);
#   - batch 4 scenes, 300 iterations, AdamW lr 5e-4 (the published 0.008 for batch 64,
#     scaled linearly to 4), wd 0.01, clip 10, x0.1 at two thirds and eight ninths of
#     the run (the published milestones 120 / 160 of 180); one evaluation at the end.
_base_ = [
    '../_base_/models/det_votenet_srunet34_mmdet3d.py',
    '../_base_/datasets/synthetic_scannet_votenet_mmdet3d.py',
    '../_base_/mmdet3d_runtime.py',
]
max_iters = 300
model = dict(
    backbone=dict(encoder=dict(voxel_size=0.1, feature_keys=('rgb', ), bn_momentum=0.1)),
    bbox_head=dict(
        num_classes=5,
        bbox_coder=dict(num_sizes=5, mean_sizes=[
            [0.76966727, 0.8116021, 0.92573744], [1.876858, 1.8425595, 1.1931566],
            [0.61328, 0.6148609, 0.7182701], [0.97949594, 1.0675149, 0.6329687],
            [0.83221924, 1.0490936, 1.6875663]])))
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.01),
                     clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[200, 267], gamma=0.1),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
