# Supervised upper bound of gain_pointmlp_scanobjectnn-obj-bg_synthetic.py: PointMLP-elite
# trained from scratch on every label of that config's train split (the TAP fine-tuning
# recipe, shrunk to 20 epochs), tested once at the end on its test split; its backbone,
# published, is the `--init supervised=` of tools/benchmarks/pretrain_gain.py.
#   python tools/train.py THIS_CONFIG --work-dir work_dirs/gain_supervised_obj-bg
#   python tools/model_converters/publish_model.py work_dirs/gain_supervised_obj-bg/epoch_20.pth work_dirs/gain_supervised_obj-bg/backbone.pth
_base_ = ['./pointmlp_ft_scanobjectnn-pb-t50-rs_synthetic.py']

variant = 'obj_bg'
data_root = 'data/synthetic_objects_gain/scanobjectnn'
synthetic_data = dict(seed=0, num_train_per_class=20, num_test_per_class=30)
max_epochs = 20
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, variant=variant))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data, variant=variant))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, end_factor=1.0, by_epoch=True, begin=0,
         end=2),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=1e-6, by_epoch=True,
         begin=2, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs, save_best=None))
