"""A PPKT model small enough for unit tests: 8-16-channel SR-UNet student, random-init
ResNet-18 (width 8) teacher, 16-d projections."""


def tiny_ppkt(num_pairs: int) -> dict:
    """Config dict of the tiny PPKT with ``num_pairs`` sampled pairs per frame."""
    return dict(type='PPKT', num_pairs=num_pairs, projection_channels=16,
                backbone=dict(type='SRUNet', in_channels=3, out_channels=None, stem_channels=8,
                              planes=(8, 16, 16, 16, 16, 16, 12, 12),
                              layers=(1, 1, 1, 1, 1, 1, 1, 1)),
                teacher=dict(type='ImageTeacher',
                             backbone=dict(type='ResNet', depth=18, base_channels=8),
                             checkpoint=None, allow_random_init=True),
                upl=dict(type='UpsamplingProjection', in_channels=64, out_channels=16,
                         scale=32))
