# PPKT pre-training of SR-UNet34 on ScanNet RGB-D frames, the paper's recipe
# (docs/methods/ppkt.md, 'Pre-training recipe'): ImageNet ResNet-50 teacher, 480x640 frames, 2.5 cm voxels, K = 4096
# pairs, tau = 0.04, SGD lr 0.5 / wd 1e-4, batch 24, 60k iterations.
# Teacher: torchvision's ImageNet ResNet-50 from its published URL
# https://download.pytorch.org/models/resnet50-0676ba61.pth (the default in
# ../_base_/models/ppkt_srunet34.py; no torchvision needed), or CROSSPT_TEACHER=<file or URL>.
#   bash tools/dist_train.sh configs/ppkt/srunet34_1xb24-60k_scannet.py 1
#   (8 GPUs: --cfg-options train_dataloader.batch_size=3 keeps 24 frames per step)
_base_ = [
    '../_base_/models/ppkt_srunet34.py',
    '../_base_/datasets/scannet_frames.py',
    '../_base_/schedules/ppkt_sgd_60k.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3))
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
