# Runtime of the scene-level configs that run inside mmdet3d (ScanNet segmentation and
# 3DETR detection): crosspt's runtime with mmdet3d's registries as the default scope and
# crosspt's adapters loaded from projects/crosspt_mmdet3d (needs mmdet3d 1.4.0 + compiled
# mmcv; tools/install.sh).  crosspt modules are reached as 'crosspt.X' (e.g. the
# reporting 'crosspt.Pretrained').  mmengine's plain Visualizer (from default_runtime.py)
# is kept: mmdet3d's Det3DLocalVisualizer is not needed to train.
_base_ = ['../../../../configs/_base_/default_runtime.py']
default_scope = 'mmdet3d'
custom_imports = dict(imports=['projects.crosspt_mmdet3d.crosspt_mmdet3d'],
                      allow_failed_imports=False)
# iteration-based: validation metrics are logged at their iteration (mmengine's default
# logs them by epoch, i.e. at step 0 of an iteration-based run)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
