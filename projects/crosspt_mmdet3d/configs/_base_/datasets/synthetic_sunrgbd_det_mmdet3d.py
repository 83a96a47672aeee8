# SUN RGB-D detection on the embedded synthetic single-view scans
# (crosspt.synthetic.sunrgbd_mmdet3d; generated on first use), in exactly mmdet3d's
# SUN RGB-D format: 50,000 upright depth-frame points per scan, as the real export, and
# yawed gravity-centre boxes in the infos.  Pipeline and IndoorMetric unchanged from
# sunrgbd_det_mmdet3d.py; smaller batches and fewer workers for a 2-core CPU.  Only the 5
# classes that both splits hold are evaluated (metainfo.classes; the other boxes are
# dropped): a class predicted but absent from the 4 val scans makes mmdet3d's mAP NaN,
# and the generator builds no toilet or bathtub.
_base_ = ['./sunrgbd_det_mmdet3d.py']

class_names = ('table', 'sofa', 'chair', 'dresser', 'bookshelf')
metainfo = dict(classes=class_names)

data_root = 'data/synthetic_sunrgbd_mmdet3d/'
synthetic_data = dict(num_scenes=12, num_val_scenes=4, num_points=50000, seed=0)
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, metainfo=metainfo))
val_dataloader = dict(
    num_workers=1, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, metainfo=metainfo))
test_dataloader = val_dataloader
