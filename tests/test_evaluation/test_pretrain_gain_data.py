"""The labelled sets of the "does pre-training help?" benchmark are disjoint from the
generated pre-training set: every object of either comes from its own numpy seed
sequence (pre-training: ``default_rng([seed, model id])`` in crosspt/synthetic/
shapenet55.py; labelled ScanObjectNN / ModelNet40 objects: ``default_rng([seed, tag,
class, split, k])`` in crosspt/synthetic/objects.py), and no labelled key
yields the generator state of any pre-training key (brute force over the ids)."""
import numpy as np
from mmengine.config import Config

from crosspt.synthetic import objects as so

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


def test_ppkt_pretraining_rooms_are_not_benchmark_rooms():
    """The rooms PPKT and its 2D teacher see (configs/ppkt/*24rooms*) and the labelled
    benchmark rooms (projects/crosspt_mmdet3d/configs/ppkt/gain_*) come from different room
    generators: every room is ``default_rng([seed, TAG_SCENE, index])``
    (synthetic/room_planner.py)."""
    from crosspt.synthetic.scene_model import TAG_SCENE
    pre = Config.fromfile('configs/ppkt/srunet34_synthetic-24rooms.py').synthetic_data
    teacher = Config.fromfile(
        'configs/ppkt/teacher2d/resnet18-w32_synthetic-seg_24rooms.py').synthetic_data
    assert teacher == pre
    pretraining = {state([pre.seed, TAG_SCENE, i]) for i in range(pre.num_scenes)}
    for name in ('gain_srunet34_scratch', 'gain_srunet34_ft', 'gain_linear-probe_srunet34'):
        cfg = Config.fromfile(
            f'projects/crosspt_mmdet3d/configs/ppkt/{name}_scannet-seg_synthetic.py')
        for loader in ('train_dataloader', 'test_dataloader'):
            gen = cfg[loader].dataset.auto_generate
            rooms = gen.num_scenes + gen.num_val_scenes
            labelled = {state([gen.seed, TAG_SCENE, i]) for i in range(rooms)}
            assert len(labelled) == rooms and not labelled & pretraining, (name, loader)
