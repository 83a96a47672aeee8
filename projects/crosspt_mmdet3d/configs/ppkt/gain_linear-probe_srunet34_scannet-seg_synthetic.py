# Per-point linear probe of the PPKT "Does pre-training help?" benchmark: the frozen
# SR-UNet34 (10 cm voxels) on the rooms of gain_srunet34_scratch_scannet-seg_synthetic.py,
# a logistic regression on 5,000 labelled points per training room (all 20 rooms), mIoU on
# every point of the 8 val rooms (settings of linear-probe_srunet34_scannet-seg_synthetic.py).
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --checkpoint work_dirs/ppkt_24rooms/iter_600.pth
#   python tools/benchmarks/linear_probe.py THIS_CONFIG --seed 0    # random init
_base_ = ['./linear-probe_srunet34_scannet-seg_synthetic.py']

data_root = 'data/synthetic_scannet_mmdet3d_gain/'
synthetic_data = dict(num_scenes=20, num_val_scenes=8, num_points=50000, seed=0)
model = dict(backbone=dict(voxel_size=0.1))
train_dataloader = dict(dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = dict(dataset=dict(data_root=data_root, auto_generate=synthetic_data))
