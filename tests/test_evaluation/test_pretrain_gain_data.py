"""The labelled sets of the "does pre-training help?" benchmark are disjoint from the
generated pre-training set: every object of either comes from its own numpy seed
sequence (pre-training: ``default_rng([seed, model id])`` in crosspt/datasets/
synthetic.py; labelled ScanObjectNN / ModelNet40 objects: ``default_rng([seed, tag,
class, split, k])`` in crosspt/datasets/synthetic_objects.py), and no labelled key
yields the generator state of any pre-training key (brute force over the ids)."""
import numpy as np
from mmengine.config import Config

from crosspt.datasets import synthetic_objects as so

GAIN_CONFIG = 'configs/tap/benchmarks/gain_pointmlp_scanobjectnn-obj-bg_synthetic.py'


def state(key) -> bytes:
    """The 128-bit PCG64 seed material numpy derives from a seed sequence ``key``."""
    return np.random.SeedSequence(key).generate_state(4).tobytes()


def test_labelled_objects_never_share_a_generator_with_pretraining_objects():
    cfg = Config.fromfile(GAIN_CONFIG)
    gen = cfg.synthetic_data
    assert max(gen.num_train_per_class, gen.num_test_per_class) <= 50
    labelled = set()
    for tag in (so.TAG_SCAN, so.TAG_MODELNET):
        for cat in range(8):
            for split in ('train', 'test'):
                for k in range(50):  # at least the objects per class of the config
                    key = [gen.seed, tag, cat, so.SPLIT_IDS[split], k]
                    labelled.add(state(key))
                    labelled |= {state(key + [v]) for v in (1, 2, 3)}  # the scan variants
    pretraining = {state([seed, i]) for seed in range(3) for i in range(20000)}
    assert len(labelled) == 2 * 8 * 2 * 50 * 4  # every labelled key is distinct
    assert not labelled & pretraining
