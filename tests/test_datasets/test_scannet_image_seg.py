"""ScanNetImageSegDataset on tiny frames written here with scannet_layout's writers.

Expected train ids come from the ScanNet benchmark table (docs/methods/benchmarks.md,
'Classes and ignore index') written
out below, not from the dataset module.
"""
import os

import numpy as np
import pytest
import torch
from PIL import Image
from mmengine.dataset import pseudo_collate

from crosspt.datasets.scannet_image_seg import (PackImageSegInputs, RandomImageSegCrop,
                                                RandomImageSegFlip, ScanNetImageSegDataset)
from crosspt.fileio.scannet_layout import write_color, write_label
from crosspt.registry import DATASETS

# NYU40 id -> benchmark train id (wall 1 ... otherfurniture 39); everything else ignored.
NYU40_TO_TRAIN = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9, 11: 10,
                  12: 11, 14: 12, 16: 13, 24: 14, 28: 15, 33: 16, 34: 17, 36: 18, 39: 19}
LH, LW = 6, 8            # label resolution
CH, CW = 12, 16          # colour resolution (2x, like 480x640 vs 968x1296 in spirit)


def write_scene(root, scene, frames, label_ids=None, colour=(200, 100, 50), skip_label=()):
    for sub in ('color', 'label-filt'):
        os.makedirs(os.path.join(root, scene, sub), exist_ok=True)
    for k, frame in enumerate(frames):
        rgb = np.zeros((CH, CW, 3), np.uint8)
        rgb[:] = colour
        rgb[:, CW // 2:] = (10, 20, 30)                    # right half dark
        write_color(os.path.join(root, scene, 'color', f'{frame}.jpg'), rgb, quality=100)
        if frame in skip_label:
            continue
        ids = np.arange(LH * LW).reshape(LH, LW) % 41 if label_ids is None else label_ids
        write_label(os.path.join(root, scene, 'label-filt', f'{frame}.png'), ids + 0 * k)


def expected_train_ids(ids):
    return np.vectorize(lambda v: NYU40_TO_TRAIN.get(int(v), 255))(ids)


@pytest.fixture()
def root(tmp_path):
    write_scene(tmp_path, 'scene0000_00', [0, 25, 50])
    write_scene(tmp_path, 'scene0001_00', [0, 25], colour=(0, 250, 0))
    os.makedirs(tmp_path / 'not_a_scene')                  # no color/ folder: not listed
    return str(tmp_path)


def test_samples_have_uint8_images_at_label_resolution_and_mapped_labels(root):
    ds = ScanNetImageSegDataset(data_root=root)
    assert len(ds) == 5
    assert ds.metainfo['classes'][0] == 'wall' and ds.metainfo['classes'][19] == 'otherfurniture'
    assert len(ds.metainfo['classes']) == 20
    item = ds[0]
    img, sample = item['inputs'], item['data_samples']
    assert img.dtype == torch.uint8 and tuple(img.shape) == (3, LH, LW)
    assert sample.scene == 'scene0000_00' and sample.frame == 0
    assert sample.ori_shape == (LH, LW)
    gt = sample.gt_sem_seg
    assert gt.dtype == torch.int64 and tuple(gt.shape) == (LH, LW)
    ids = np.arange(LH * LW).reshape(LH, LW) % 41
    np.testing.assert_array_equal(gt.numpy(), expected_train_ids(ids))
    # ids 0 (unannotated) and 15 (not a benchmark class) ignored; 1 wall, 24 fridge, 39
    assert gt[0, 0] == 255 and gt[1, 7] == 255
    assert gt[0, 1] == 0 and gt[3, 0] == 14 and gt[4, 7] == 19
    # colour resized 12x16 -> 6x8: left half ~ (200, 100, 50), right half ~ (10, 20, 30)
    assert np.abs(img[:, :, 1].numpy().astype(int) - [[200], [100], [50]]).max() <= 6
    assert np.abs(img[:, :, 6].numpy().astype(int) - [[10], [20], [30]]).max() <= 6
    assert ds[3]['data_samples'].scene == 'scene0001_00'


def test_scene_selection_split_file_and_frame_step(root):
    ds = ScanNetImageSegDataset(data_root=root, scenes=['scene0001_00'])
    assert [ds.get_data_info(i)['frame'] for i in range(len(ds))] == [0, 25]
    with open(os.path.join(root, 'val.txt'), 'w') as f:
        f.write('scene0000_00\n\n')
    ds = ScanNetImageSegDataset(data_root=root, scenes='val.txt', frame_step=2)
    assert [(d['scene'], d['frame']) for d in (ds.get_data_info(i) for i in range(len(ds)))] \
        == [('scene0000_00', 0), ('scene0000_00', 50)]
    tail = ScanNetImageSegDataset(data_root=root, scene_slice=(1, None))
    assert {tail.get_data_info(i)['scene'] for i in range(len(tail))} == {'scene0001_00'}
    with pytest.raises(FileNotFoundError, match='no scene selected'):
        ScanNetImageSegDataset(data_root=root, scene_slice=(5, None))
    built = DATASETS.build(dict(type='ScanNetImageSegDataset', data_root=root, img_size=(3, 4)))
    assert tuple(built[0]['inputs'].shape) == (3, 3, 4)
    assert tuple(built[0]['data_samples'].gt_sem_seg.shape) == (3, 4)
    assert built[0]['data_samples'].ori_shape == (LH, LW)
    with pytest.raises(FileNotFoundError, match='scene9999_00'):
        ScanNetImageSegDataset(data_root=root, scenes=['scene9999_00'])
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        ScanNetImageSegDataset(data_root=root, scenes='missing.txt')


def test_missing_label_file_is_named(tmp_path):
    write_scene(tmp_path, 'scene0002_00', [0, 7], skip_label=(7,))
    expected = os.path.join(str(tmp_path), 'scene0002_00', 'label-filt', '7.png')
    with pytest.raises(FileNotFoundError) as err:
        ScanNetImageSegDataset(data_root=str(tmp_path))
    assert expected in str(err.value)
    with pytest.raises(FileNotFoundError, match='create_data.py synthetic-scenes'):
        ScanNetImageSegDataset(data_root=str(tmp_path / 'absent'))


def test_raw_scannet_ids_need_and_use_the_label_map(tmp_path):
    raw = np.array([[0, 1, 2, 3], [40, 41, 1163, 5]], np.int64)
    write_scene(tmp_path, 'scene0003_00', [0], label_ids=raw)
    ds = ScanNetImageSegDataset(data_root=str(tmp_path))
    label = os.path.join(str(tmp_path), 'scene0003_00', 'label-filt', '0.png')
    with pytest.raises(ValueError, match=label):
        ds[0]
    tsv = tmp_path / 'labels.tsv'
    # id -> nyu40id: 1 wall(1), 2 chair(5), 3 floor(2), 40 toilet(33), 41 unknown(40 other)
    tsv.write_text('id\traw_category\tcategory\tcount\tnyu40id\n'
                   '1\twall\twall\t8277\t1\n2\tchair\tchair\t4646\t5\n3\tfloor\tfloor\t4\t2\n'
                   '40\ttoilet\ttoilet\t3\t33\n41\tthing\tthing\t1\t40\n5\tdesk\tdesk\t9\t14\n')
    ds = ScanNetImageSegDataset(data_root=str(tmp_path), label_map_file=str(tsv),
                                img_size=(2, 4))
    gt = ds[0]['data_samples'].gt_sem_seg.numpy()
    # 0 -> unannotated, 1163 not in the map -> unannotated, 41 -> nyu40 40 -> ignored
    np.testing.assert_array_equal(gt, [[255, 0, 4, 1], [16, 255, 255, 12]])


def test_flip_and_pack_transforms():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    seg = np.array([[0, 1, 2], [3, 4, 255]], np.int64)
    out = RandomImageSegFlip(prob=1.0)(dict(img=img.copy(), gt_sem_seg=seg.copy()))
    assert out['flip'] is True
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    np.testing.assert_array_equal(out['gt_sem_seg'], [[2, 1, 0], [255, 4, 3]])
    kept = RandomImageSegFlip(prob=0.0)(dict(img=img.copy(), gt_sem_seg=seg.copy()))
    assert kept['flip'] is False and np.array_equal(kept['img'], img)
    packed = PackImageSegInputs()(dict(img=img, gt_sem_seg=seg, scene='s', frame=3))
    assert packed['inputs'].shape == (3, 2, 3) and packed['inputs'][2, 1, 0] == img[1, 0, 2]
    assert packed['data_samples'].frame == 3
    assert packed['data_samples'].gt_sem_seg.tolist() == seg.tolist()
    with pytest.raises(ValueError, match='prob'):
        RandomImageSegFlip(prob=2)


def test_random_crop_keeps_image_and_labels_aligned():
    img = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    seg = np.arange(6 * 8, dtype=np.int64).reshape(6, 8)
    np.random.seed(0)
    for _ in range(5):
        out = RandomImageSegCrop(size=(4, 3))(dict(img=img, gt_sem_seg=seg))
        top, left, h, w = out['crop']
        assert (h, w) == (4, 3) and 0 <= top <= 2 and 0 <= left <= 5
        np.testing.assert_array_equal(out['img'], img[top:top + 4, left:left + 3])
        np.testing.assert_array_equal(out['gt_sem_seg'], seg[top:top + 4, left:left + 3])
    with pytest.raises(ValueError, match='larger than the image'):
        RandomImageSegCrop(size=(7, 3))(dict(img=img, gt_sem_seg=seg))


def test_batches_train_the_image_segmentor(root):
    from crosspt.models.image import ImageSegmentor

    ds = ScanNetImageSegDataset(data_root=root, img_size=(32, 32),
                                pipeline=[dict(type='RandomImageSegFlip', prob=0.5),
                                          dict(type='PackImageSegInputs')])
    batch = pseudo_collate([ds[i] for i in range(3)])
    model = ImageSegmentor(backbone=dict(type='ResNet', depth=18, base_channels=4))
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert torch.isfinite(losses['loss_seg']) and losses['loss_seg'].requires_grad


def test_auto_generate_reads_the_synthetic_scenes(tmp_path):
    root = str(tmp_path / 'syn')
    ds = ScanNetImageSegDataset(
        data_root=root, auto_generate=dict(num_scenes=2, frames_per_scene=2, seed=3,
                                           depth_size=(24, 32), color_size=(48, 64)))
    assert len(ds) == 4 and os.path.isfile(os.path.join(root, 'synthetic_info.json'))
    item = ds[1]
    assert tuple(item['inputs'].shape) == (3, 24, 32)
    gt = item['data_samples'].gt_sem_seg
    label = np.asarray(Image.open(item['data_samples'].label_path)).astype(np.int64)
    np.testing.assert_array_equal(gt.numpy(), expected_train_ids(label))
    assert (gt != 255).float().mean() > 0.5                 # rooms are mostly labelled
