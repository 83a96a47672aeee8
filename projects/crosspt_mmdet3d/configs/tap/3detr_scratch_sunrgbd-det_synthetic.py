# 3DETR from scratch on the embedded synthetic single-view scans in mmdet3d's SUN RGB-D
# format (data generated on first use): the CPU demo of 3detr_scratch_sunrgbd-det.py with
# its yawed boxes, 12 heading bins and rotated-GIoU matching.
#   python tools/train.py projects/crosspt_mmdet3d/configs/tap/3detr_scratch_sunrgbd-det_synthetic.py
# Sized for a 2-core CPU: the 5 classes of the dataset base, 512 pre-encoder centres with
# 32 neighbours and 64 queries (layers, widths, heading bins, matcher and loss weights as
# published), batch 4 for 300 iterations with the published AdamW lr 7e-4 / wd 0.1 / clip
# 0.1, no warm-up, a cosine over the short run.
_base_ = [
    '../_base_/models/det_3detr_sunrgbd_mmdet3d.py',
    '../_base_/datasets/synthetic_sunrgbd_det_mmdet3d.py',
    '../_base_/schedules/det_adamw_cosine_300it_synthetic.py',
    '../_base_/mmdet3d_runtime.py',
]
model = dict(num_classes=5, nqueries=64, encoder=dict(preenc_npoints=512, preenc_nsample=32))
optim_wrapper = dict(optimizer=dict(lr=7e-4))   # SUN RGB-D's, at batch 8 (here batch 4)
default_hooks = dict(checkpoint=dict(interval=300, max_keep_ckpts=1))   # = max_iters
