# 3DETR on SUN RGB-D (docs/methods/3detr.md, 'SUN RGB-D'): the ScanNet model of
# det_3detr_mmdet3d.py with the release's SUN RGB-D settings (3detr
# scripts/sunrgbd_ep1080.sh and datasets/sunrgbd.py): 10 classes, 128 queries, 12 heading
# bins (yawed boxes: the matcher uses the rotated GIoU, enclosing volume axis-aligned as
# in the release's utils/box_util.py), matcher costs
# GIoU 3 / class 1 / centre 5 / objectness 5, no GIoU loss term (weight 0), no-object class
# weight 0.1.  Other loss weights are main.py's defaults (class 1, centre 5, size 1, angle
# class 0.1, angle residual 0.5).
_base_ = ['./det_3detr_mmdet3d.py']
model = dict(
    num_classes=10, nqueries=128, num_angle_bins=12,
    criterion=dict(matcher=dict(cost_giou=3.0, cost_class=1.0, cost_center=5.0,
                                cost_objectness=5.0),
                   loss_weights=dict(giou=0.0),
                   no_object_weight=0.1,
                   # the release's enclosing volume: the axis-aligned box of all corners
                   giou_enclosing='axis_aligned'))
