# VoteNet's ScanNet detection data (scannet_votenet_mmdet3d.py, same pipelines and
# metric) on the embedded synthetic scenes in mmdet3d's ScanNet format (generated on
# first use, as synthetic_scannet_det_mmdet3d.py), with 5 classes that every split holds:
# with all 18, a class that is predicted (VoteNet proposes every class per box) but
# absent from the 4 val rooms makes mmdet3d's mAP NaN.  CrossptScanNetDataset re-indexes
# the semantic ids to this subset, so the vote targets follow the kept classes only.
_base_ = ['./scannet_votenet_mmdet3d.py']

data_root = 'data/synthetic_scannet_mmdet3d/'
synthetic_data = dict(num_scenes=12, num_val_scenes=4, num_points=50000, seed=0)
class_names = ('cabinet', 'bed', 'chair', 'table', 'bookshelf')
train_dataloader = dict(
    batch_size=4, num_workers=2, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data,
                 metainfo=dict(classes=class_names)))
val_dataloader = dict(
    num_workers=1, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data,
                 metainfo=dict(classes=class_names)))
test_dataloader = val_dataloader
