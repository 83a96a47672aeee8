"""Writes the teacher's and the student's PPKT features of one frame as RGB, projected with
one PCA shared by both, at every validation."""
import os.path as osp
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.utils import mkdir_or_exist
from PIL import Image, ImageDraw

from crosspt.registry import HOOKS

from .view_grid_hook import CAPTION_HEIGHT

GAP = 4                        # white pixels between the panels
NO_POINT_GREY = 128            # student panel where no point projects
PANEL_TITLES = ('RGB', 'teacher (UPL)', 'student (3D)')


def shared_pca_rgb(teacher: np.ndarray, student: np.ndarray
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """One PCA for both feature sets, three components as RGB.

    Args:
        teacher: (N_t, D) features.  student: (N_s, D) features.
    Returns:
        (N_t, 3) and (N_s, 3) float in [0, 1].  The PCA is fitted on the concatenation
        (its mean, its top-3 principal axes = eigenvectors of the (D, D) scatter matrix,
        i.e. the top right singular vectors of the centred data); each component is
        scaled by the min and max of both projections together, so one colour means one
        feature in both.  The sign of a component is arbitrary (a flip maps x -> 1 - x in
        its channel).
    """
    if teacher.ndim != 2 or student.ndim != 2 or teacher.shape[1] != student.shape[1]:
        raise ValueError(f'shared_pca_rgb: teacher and student must be (N, D) with the same '
                         f'D, got {teacher.shape} and {student.shape}')
    n = len(teacher) + len(student)
    if n < 2:
        raise ValueError('shared_pca_rgb: need at least 2 feature vectors in total')
    # float64 sums over row blocks: the same mean, scatter and projection as on the
    # concatenated float64 copy, without materialising it (a frame is ~1e5 x 128)
    mean = (teacher.sum(0, dtype=np.float64) + student.sum(0, dtype=np.float64)) / n
    scatter = np.zeros((len(mean), len(mean)))
    for block in _row_blocks(teacher, student):
        centred = block - mean
        scatter += centred.T @ centred
    _, vecs = np.linalg.eigh(scatter)                              # ascending eigenvalues
    comps = np.zeros((len(mean), 3))
    top = vecs[:, ::-1][:, :3]
    comps[:, :top.shape[1]] = top
    proj = np.concatenate([(block - mean) @ comps
                           for block in _row_blocks(teacher, student)])      # (N, 3)
    lo, hi = proj.min(axis=0), proj.max(axis=0)
    rgb = (proj - lo) / np.where(hi > lo, hi - lo, 1.0)
    return rgb[:len(teacher)], rgb[len(teacher):]


def _row_blocks(*arrays: np.ndarray, rows: int = 8192):
    """float64 copies of consecutive row blocks of each array, in order."""
    for array in arrays:
        for start in range(0, len(array), rows):
            yield array[start:start + rows].astype(np.float64)


def compose_pca_panels(img: np.ndarray, teacher_map: np.ndarray, pixels: np.ndarray,
                       student_feats: np.ndarray) -> np.ndarray:
    """``[RGB | teacher | student]`` side by side with titles: uint8 (14 + H, 3 W + 8, 3).

    Args:
        img: (H, W, 3) uint8 frame.
        teacher_map: (H, W, D) teacher features at every pixel.
        pixels: (P, 2) int (row, col) where student features are splatted.
        student_feats: (P, D) student features of those pixels.
    The PCA (:func:`shared_pca_rgb`) is fitted on the H*W teacher vectors and the P student
    vectors together; pixels without a student feature are grey.
    """
    h, w = img.shape[:2]
    if teacher_map.shape[:2] != (h, w) or len(pixels) != len(student_feats):
        raise ValueError(f'compose_pca_panels: teacher_map {teacher_map.shape} must be '
                         f'({h}, {w}, D) and pixels {pixels.shape} must match student_feats '
                         f'{student_feats.shape}')
    t_rgb, s_rgb = shared_pca_rgb(teacher_map.reshape(h * w, -1), student_feats)
    student = np.full((h, w, 3), NO_POINT_GREY, dtype=np.uint8)
    student[pixels[:, 0], pixels[:, 1]] = _to_uint8(s_rgb)
    panels = (img.astype(np.uint8), _to_uint8(t_rgb).reshape(h, w, 3), student)
    canvas = np.full((CAPTION_HEIGHT + h, 3 * w + 2 * GAP, 3), 255, dtype=np.uint8)
    for i, panel in enumerate(panels):
        canvas[CAPTION_HEIGHT:, i * (w + GAP):i * (w + GAP) + w] = panel
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for i, title in enumerate(PANEL_TITLES):
        draw.text((i * (w + GAP) + 2, 1), title, fill=(200, 30, 30))
    return np.asarray(image)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def frame_features(model, data_batch: dict, sample: int = 0
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The picture's inputs for one frame of a PPKT batch.

    Returns ``img`` (H, W, 3) uint8, the normalised UPL map (H, W, D) of the teacher,
    ``pixels`` (P, 2) (row, col) of the frame's pairs and the normalised projected student
    features (P, D) of their voxels.  With ``VoxelizePairs(one_pixel_per_voxel=False)``
    every pixel with depth is a pair, so the student covers every such pixel.
    """
    subset = _one_sample(data_batch, sample)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(subset, False)['inputs']
        img = inputs['img']                                                  # (1, 3, H, W)
        fmap = model.upl(model.teacher_features(img), image_size=tuple(img.shape[-2:]))
        teacher = F.normalize(fmap, dim=1)[0].permute(1, 2, 0)               # (H, W, D)
        student = F.normalize(model.point_embeddings(inputs), dim=1)          # (V, D)
    model.train(was_training)
    pairs = inputs['pairs']                                                  # (P, 4)
    return (img[0].permute(1, 2, 0).cpu().numpy().astype(np.uint8),
            teacher.float().cpu().numpy(), pairs[:, 2:].cpu().numpy(),
            student[pairs[:, 0]].float().cpu().numpy())


def _one_sample(data_batch: dict, index: int) -> dict:
    """Sample ``index`` of a pseudo-collated batch, as a batch of one."""
    def take(value):
        if isinstance(value, dict):
            return {k: take(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, torch.Tensor)):
            return value[index:index + 1]
        return value
    return take(data_batch)


@HOOKS.register_module()
class PPKTFeaturePCAHook(Hook):
    """At every validation, take frame ``sample`` of the first validation batch and
    write ``{work_dir}/{out_dir}/iter_<training iteration, 6 digits>.png``: the frame,
    the teacher's UPL features at every pixel and the student's features splatted at the
    pixels of their points, the two projected to RGB by one shared PCA
    (:func:`compose_pca_panels`).  The same image goes to the visualizer as
    ``ppkt_feature_pca``.

    Args:
        sample: index of the frame in the first validation batch.
        out_dir: sub-folder of the work dir.
    """

    priority = 'LOW'

    def __init__(self, sample: int = 0, out_dir: str = 'feature_pca') -> None:
        if not isinstance(sample, int) or sample < 0:
            raise ValueError(f'PPKTFeaturePCAHook: sample must be an int >= 0, got {sample!r}')
        self.sample, self.out_dir = sample, out_dir

    def after_val_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                       outputs=None) -> None:
        if batch_idx != 0 or data_batch is None or not is_main_process():
            return
        size = len(data_batch['data_samples'])
        if self.sample >= size:
            raise ValueError(f'PPKTFeaturePCAHook: sample={self.sample} but the first '
                             f'validation batch has {size} frames; lower `sample`')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        picture = compose_pca_panels(*frame_features(model, data_batch, self.sample))
        path = osp.join(runner.work_dir, self.out_dir, f'iter_{runner.iter:06d}.png')
        mkdir_or_exist(osp.dirname(path))
        Image.fromarray(picture).save(path)
        runner.visualizer.add_image('ppkt_feature_pca', picture, step=runner.iter)
        runner.logger.info(f'PPKTFeaturePCAHook: wrote {path}')
