# Extension example (docs/extending.md): TAP pre-training of a backbone that is not part
# of crosspt (docs/examples/tiny_pointnet.py), on the embedded synthetic ShapeNet55-format
# data (generated on first use; configs/_base_/tap_pretrain_synthetic.py shrinks the run).
#   python tools/train.py docs/examples/tap_tiny-pointnet_synthetic.py
# Built and trained for one step by tests/test_docs/test_docs_examples.py.
_base_ = [
    '../../configs/_base_/models/tap.py',
    '../../configs/_base_/tap_pretrain_synthetic.py',
]

# registers TinyPointNet in crosspt's MODELS (run from the repository root)
custom_imports = dict(imports=['docs.examples.tiny_pointnet'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='TinyPointNet', in_channels=4,   # xyz + height, as the pipeline packs
                  num_centers=64, k=16, channels=(64, 128)),
    # TAP's photograph module reads the per-centre width from here (no default)
    memory_builder=dict(in_channels=128))
