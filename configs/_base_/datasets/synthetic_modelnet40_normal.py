# Embedded synthetic ModelNet40 (normal_resampled text, 2,500 rows per file) in the real on-disk format
# (crosspt/synthetic/objects.py; generated on first use, deterministic).
_base_ = ['./modelnet40_normal.py']
data_root = 'data/synthetic_objects/modelnet40'
synthetic_data = dict(seed=0)
train_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
val_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, auto_generate=synthetic_data))
test_dataloader = val_dataloader
