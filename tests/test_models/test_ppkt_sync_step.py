"""One PPKT-style DDP training step on 2 gloo CPU processes equals one process on the union
batch: a tiny SR-UNet student (its SparseBatchNorms converted by convert_sync_batchnorm,
ranks holding different numbers of voxels), a point projection, a pixel projection and the
gathered PPNCE loss.  Compared in float64: the mean of the ranks' losses, every parameter
gradient DDP leaves on each rank, and the BatchNorm running statistics.
"""
import torch
from mmengine.registry import init_default_scope
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from crosspt.models.ppkt import PPNCELoss
from crosspt.ops import SparseSyncBatchNorm, SparseTensor, convert_sync_batchnorm
from crosspt.registry import MODELS
from dist_spawn import run_ranks

VOXELS = [(30, 22), (41, 17)]      # voxels of the 2 samples on rank 0 and on rank 1
PAIRS = [(9, 6), (7, 10)]          # sampled pairs of those samples


class TinyStudent(nn.Module):
    """SR-UNet (8-16 channels) -> point projection; pixel descriptors -> pixel projection."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = MODELS.build(dict(
            type='SRUNet', in_channels=3, out_channels=None, stem_channels=8,
            planes=(8, 16, 16, 16, 16, 16, 12, 12), layers=(1, 1, 1, 1, 1, 1, 1, 1)))
        self.point = nn.Linear(self.backbone.out_channels, 8)
        self.pixel = nn.Linear(5, 8)
        self.loss = PPNCELoss(temperature=0.1)

    def forward(self, coords, feats, pair_voxels, pixels) -> torch.Tensor:
        voxel_feats = self.backbone(SparseTensor(coords, feats)).feats
        return self.loss(self.point(voxel_feats)[pair_voxels], self.pixel(pixels))


def make_rank(gen: torch.Generator, voxels, pairs, first_sample: int) -> dict:
    coords, pair_voxels, offset = [], [], 0
    for b, (n, k) in enumerate(zip(voxels, pairs)):
        cells = torch.randperm(12 ** 3, generator=gen)[:n]
        xyz = torch.stack([cells // 144, cells // 12 % 12, cells % 12], dim=1)
        coords.append(torch.cat([torch.full((n, 1), first_sample + b), xyz], dim=1))
        pair_voxels.append(offset + torch.randperm(n, generator=gen)[:k])
        offset += n
    n, k = sum(voxels), sum(pairs)
    return dict(coords=torch.cat(coords), feats=torch.randn(n, 3, generator=gen).double(),
                pair_voxels=torch.cat(pair_voxels),
                pixels=torch.randn(k, 5, generator=gen).double())


def make_data() -> dict:
    gen = torch.Generator().manual_seed(0)
    ranks = [make_rank(gen, VOXELS[r], PAIRS[r], 0) for r in range(2)]
    init_default_scope('crosspt')
    torch.manual_seed(0)
    return dict(ranks=ranks, state=TinyStudent().double().state_dict())


def union(data: dict) -> dict:
    """Both ranks' samples as one batch (rank 1's samples become 2, 3)."""
    r0, r1 = data['ranks']
    coords1 = r1['coords'].clone()
    coords1[:, 0] += 2
    return dict(coords=torch.cat([r0['coords'], coords1]),
                feats=torch.cat([r0['feats'], r1['feats']]),
                pair_voxels=torch.cat([r0['pair_voxels'], r1['pair_voxels'] + len(r0['coords'])]),
                pixels=torch.cat([r0['pixels'], r1['pixels']]))


def bn_state(model: nn.Module) -> dict:
    return {k: v for k, v in model.state_dict().items() if 'running' in k}


def step_worker(rank: int, data: dict) -> dict:
    init_default_scope('crosspt')
    model = TinyStudent().double()
    model.load_state_dict(data['state'])
    model = convert_sync_batchnorm(model)
    synced = sum(isinstance(m, SparseSyncBatchNorm) for m in model.modules())
    ddp = DistributedDataParallel(model)      # kept alive: its hooks average the gradients
    loss = ddp(**data['ranks'][rank])
    loss.backward()
    return dict(loss=loss.detach(), synced=synced, running=bn_state(model),
                grads={n: p.grad for n, p in model.named_parameters()})


def test_ppkt_step_on_two_processes_equals_one_process_on_the_union():
    data = make_data()
    ranks = run_ranks(step_worker, (data, ), timeout=90)
    model = TinyStudent().double()
    model.load_state_dict(data['state'])
    loss = model(**union(data))
    loss.backward()
    assert ranks[0]['synced'] >= 10            # every SparseBatchNorm of the SR-UNet
    torch.testing.assert_close((ranks[0]['loss'] + ranks[1]['loss']) / 2, loss.detach())
    for name, param in model.named_parameters():
        for res in ranks:
            torch.testing.assert_close(res['grads'][name], param.grad, rtol=1e-9, atol=1e-12,
                                       msg=lambda m: f'{name}: {m}')
    for key, value in bn_state(model).items():
        for res in ranks:
            torch.testing.assert_close(res['running'][key], value, rtol=1e-9, atol=1e-12)
