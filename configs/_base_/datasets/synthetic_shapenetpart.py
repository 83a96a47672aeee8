# Embedded synthetic ShapeNetPart (5 categories) in the real on-disk format
# (crosspt/synthetic/objects.py; generated on first use, deterministic).
_base_ = ['./shapenetpart.py']
data_root = 'data/synthetic_objects/shapenetpart'
synthetic_data = dict(seed=0)
train_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
val_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
