"""PPKT predict mode for validation: K pairs per frame (one per voxel, the voxel's first
pixel, seeded), their features equal the loss's normalised features computed by hand on
the full UPL map, and a frame gets the same pairs alone or inside a batch."""
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from crosspt.evaluation import PPKTRetrievalMetric
from crosspt.registry import MODELS
from ppkt_tiny import tiny_ppkt

TINY = tiny_ppkt(num_pairs=16)
HW = (40, 56)


def _frame(num_voxels: int, seed: int):
    """One packed frame: voxel v has pixels 2v and 2v+1 of a random pixel order (two pairs
    per voxel, in voxel order, as VoxelizePairs(one_pixel_per_voxel=False) writes them)."""
    g = torch.Generator().manual_seed(seed)
    flat = torch.randperm(12 ** 3, generator=g)[:num_voxels]
    coords = torch.stack([flat // 144, flat // 12 % 12, flat % 12], dim=1)
    pix = torch.randperm(HW[0] * HW[1], generator=g)[:2 * num_voxels]
    pairs = torch.stack([torch.arange(num_voxels).repeat_interleave(2), pix // HW[1],
                         pix % HW[1]], dim=1)
    inputs = dict(img=torch.randint(0, 256, (3, *HW), dtype=torch.uint8, generator=g),
                  coords=coords, points=coords.float() * 0.05,
                  feats=torch.rand(num_voxels, 3, generator=g))
    return inputs, BaseDataElement(pairs=pairs)


def _batch(frames):
    return dict(inputs={k: [f[0][k] for f in frames] for k in frames[0][0]},
                data_samples=[BaseDataElement(pairs=f[1].pairs.clone()) for f in frames])


def _model():
    torch.manual_seed(0)
    model = MODELS.build(TINY)
    model.eval()
    return model


def test_predict_pairs_are_first_pixels_of_distinct_voxels_and_match_the_loss_features():
    model = _model()
    frames = [_frame(30, 1), _frame(10, 2)]
    data = model.data_preprocessor(_batch(frames))
    with torch.no_grad():
        out = model(**data, mode='predict')
        emb = model.projection(model.extract_feat(data['inputs']))             # (40, 16)
        full = model.upl(model.teacher(data['inputs']['img']), image_size=HW)  # (2, 16, H, W)
    for b, (sample, (_, packed)) in enumerate(zip(out, frames)):
        pairs = sample.sampled_pairs
        k = min(16, len(packed.pairs) // 2)                  # 16 of 30 voxels; all 10
        assert pairs.shape == (k, 3) and len(set(pairs[:, 0].tolist())) == k
        for v, r, c in pairs.tolist():                       # the voxel's first pixel
            assert [v, r, c] == packed.pairs[2 * v].tolist()
        offset = 30 * b
        point = F.normalize(emb[pairs[:, 0] + offset], dim=1)
        pixel = F.normalize(full[b, :, pairs[:, 1], pairs[:, 2]].t(), dim=1)
        torch.testing.assert_close(sample.pair_point_feats, point, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(sample.pair_pixel_feats, pixel, rtol=1e-4, atol=1e-5)
        assert sample.point_embeddings.shape == (len(packed.pairs) // 2, 16)
        assert torch.equal(sample.pairs, packed.pairs)        # the input pairs stay whole


def test_predict_pairs_are_seeded_per_frame_whatever_the_batch():
    model = _model()
    frame = _frame(30, 1)
    alone = model(**model.data_preprocessor(_batch([frame])), mode='predict')[0]
    torch.manual_seed(123)                                   # the global RNG is not used
    second = model(**model.data_preprocessor(_batch([_frame(20, 5), frame])),
                   mode='predict')[1]
    torch.testing.assert_close(alone.sampled_pairs, second.sampled_pairs, rtol=0, atol=0)
    torch.testing.assert_close(alone.pair_pixel_feats, second.pair_pixel_feats)
    model.eval_seed = 1
    other = model(**model.data_preprocessor(_batch([frame])), mode='predict')[0]
    assert not torch.equal(other.sampled_pairs, alone.sampled_pairs)


def test_retrieval_metric_on_predict_output_stays_in_range_and_logs_chance():
    model = _model()
    data = model.data_preprocessor(_batch([_frame(30, 1), _frame(10, 2)]))
    metric = PPKTRetrievalMetric()
    metric.process({}, model(**data, mode='predict'))
    got = metric.evaluate(2)
    assert got['ppkt/retrieval_chance'] == (1 / 16 + 1 / 10) / 2
    assert 0.0 <= got['ppkt/retrieval_top1'] <= got['ppkt/retrieval_top5'] <= 1.0
