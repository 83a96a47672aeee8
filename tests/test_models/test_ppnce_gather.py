"""PPNCELoss(gather=True) on 2 gloo CPU processes equals the 1-process loss on the union of
the ranks' pairs (float64, ranks holding 5 and 3 pairs): the ranks' mean loss is the union
loss, each rank's point and pixel feature gradients divided by the world size (what DDP's
averaging applies) are the union gradients of its rows, and the parameter gradients of a
DDP-wrapped pair of projections equal the 1-process ones.  ``gather=False`` keeps each
rank's own pairs; with one process both settings give the pre-gather loss.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from crosspt.models.ppkt import PPNCELoss
from dist_spawn import run_ranks

SIZES = (5, 3)                    # pairs on rank 0 and rank 1
DIM, TAU = 4, 0.07


class Projections(nn.Module):
    """Point and pixel projections (the trained parts around PPNCE) and the loss."""

    def __init__(self, gather: bool = True) -> None:
        super().__init__()
        self.point = nn.Linear(3, DIM).double()
        self.pixel = nn.Linear(6, DIM).double()
        self.loss = PPNCELoss(temperature=TAU, gather=gather)

    def forward(self, points: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        return self.loss(self.point(points), self.pixel(pixels))


def make_data(seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    k = sum(SIZES)
    torch.manual_seed(seed)
    return dict(f=torch.randn(k, DIM, generator=gen, dtype=torch.float64),
                g=torch.randn(k, DIM, generator=gen, dtype=torch.float64),
                points=torch.randn(k, 3, generator=gen, dtype=torch.float64),
                pixels=torch.randn(k, 6, generator=gen, dtype=torch.float64),
                state=Projections().state_dict())


def rows(rank: int) -> slice:
    return slice(sum(SIZES[:rank]), sum(SIZES[:rank + 1]))


def gather_worker(rank: int, data: dict) -> dict:
    own = rows(rank)
    f = data['f'][own].clone().requires_grad_(True)
    g = data['g'][own].clone().requires_grad_(True)
    loss = PPNCELoss(temperature=TAU)(f, g)
    loss.backward()
    local = PPNCELoss(temperature=TAU, gather=False)(data['f'][own], data['g'][own])
    model = Projections()
    model.load_state_dict(data['state'])
    ddp = DistributedDataParallel(model)
    ddp(data['points'][own], data['pixels'][own]).backward()
    return dict(loss=loss.detach(), f_grad=f.grad, g_grad=g.grad, local=local,
                param_grads={n: p.grad for n, p in model.named_parameters()})


def test_gathered_ppnce_equals_one_process_loss_on_the_union():
    data = make_data()
    ranks = run_ranks(gather_worker, (data, ))
    f = data['f'].clone().requires_grad_(True)
    g = data['g'].clone().requires_grad_(True)
    union = PPNCELoss(temperature=TAU)(f, g)
    union.backward()
    world = len(SIZES)
    torch.testing.assert_close(sum(r['loss'] for r in ranks) / world, union.detach(),
                               rtol=1e-10, atol=1e-10)
    # a single rank's value is its share of the union, not the union loss itself
    assert abs(float(ranks[0]['loss'] - union.detach())) > 1e-3
    for rank, res in enumerate(ranks):
        torch.testing.assert_close(res['f_grad'] / world, f.grad[rows(rank)], rtol=1e-9,
                                   atol=1e-12)
        torch.testing.assert_close(res['g_grad'] / world, g.grad[rows(rank)], rtol=1e-9,
                                   atol=1e-12)
        local = PPNCELoss(temperature=TAU, gather=False)(data['f'][rows(rank)],
                                                         data['g'][rows(rank)])
        torch.testing.assert_close(res['local'], local)
    model = Projections()
    model.load_state_dict(data['state'])
    model(data['points'], data['pixels']).backward()
    for name, param in model.named_parameters():
        for res in ranks:          # DDP leaves the averaged gradient on every rank
            torch.testing.assert_close(res['param_grads'][name], param.grad, rtol=1e-9,
                                       atol=1e-12)


def test_one_process_gather_is_the_plain_loss():
    data = make_data(1)
    f, g = data['f'], data['g']
    logits = F.normalize(f, dim=1) @ F.normalize(g, dim=1).t() / TAU
    expected = -torch.log_softmax(logits, dim=1).diagonal().mean()
    for gather in (True, False):
        loss = PPNCELoss(temperature=TAU, gather=gather, loss_weight=2.0)(f, g)
        torch.testing.assert_close(loss, 2 * expected)
