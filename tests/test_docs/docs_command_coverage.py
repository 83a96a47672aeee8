"""Which test runs each command of the documentation (issue 17, item 8): part one.

The pages: docs/*.md, docs/methods/*.md, README.md, configs/*/README.md and
projects/*/README.md. A *command* is a line of their ```bash / ```shell / ```sh blocks,
keyed by its normalised text: ``\\``-continuations joined, a trailing ``# comment``
(a ``#`` outside quotes after a blank) dropped, runs of whitespace collapsed to one
blank. Not commands: blank lines, comment lines and pure shell state (``cd ...``,
``export ...``). Everything else is: ``python tools/...``, ``bash tools/...``,
``python -c``, ``python -m pip``, ``tensorboard``, ``python demo/...``, ``git clone``,
environment-prefixed lines, a ``for`` loop as a whole. A command on several pages has
one entry.

``COVERAGE[command]`` says where it runs:

- ``test``: the pytest node id (``path::function`` or ``path::function[param]``);
  ``None`` only for commands listed in ``NOT_RUN`` with the reason;
- ``how``: ``'verbatim'`` (exactly this argv, usually read from the page), ``'overrides'``
  (the same tool on the same config / paths with shrinking options: fewer iterations,
  objects or seeds, a tmp work dir, a data_root at the embedded twin in the same on-disk
  format, 2 processes instead of 8, a loopback mirror for a URL) or ``'stand-in'`` (an
  external program replaced, e.g. slurm's ``srun``);
- ``note``: what differs from the page, in a few words (required unless verbatim);
- ``via``: the config the test runs when it is a direct ``_base_`` relative of the
  page's config whose only difference is covered elsewhere (said in the note).

tests/test_docs/test_command_coverage.py checks the table against the pages and the
tests. This module holds the commands of docs/data_preparation.md, extending.md,
installation.md, mmdet3d_integration.md, pretraining.md and configs/*/README.md;
docs_command_coverage_more.py the others (docs/finetuning.md, README.md,
projects/*/README.md).
"""
from typing import NamedTuple, Optional


class Entry(NamedTuple):
    """Where a documented command runs (see the module docstring)."""
    test: Optional[str]
    how: Optional[str] = None
    note: str = ''
    via: Optional[str] = None


#: the entry of a command that no test runs yet; its reason is in NOT_RUN
UNRUN = Entry(None)

DOCS = 'tests/test_docs/'
TOOLS = 'tests/test_tools/'
EXAMPLES = DOCS + 'test_docs_examples.py::'
RUN = DOCS + 'test_docs_commands_run.py::'
TAP = TOOLS + 'test_train_tap.py::'
PPKT = TOOLS + 'test_train_ppkt.py::'
TWO = TOOLS + 'test_two_commands.py::'
SLURM = TOOLS + 'test_slurm_scripts.py::'
SCENE = TOOLS + 'test_scene_benchmarks.py::'
LP = TOOLS + 'test_linear_probe_tool.py::'
GAIN = TOOLS + 'test_pretrain_gain_tool.py::'
CONV = TOOLS + 'test_tap_converter.py::'
E2E = TOOLS + 'test_official_weights_e2e.py::'
RV = TOOLS + 'test_render_views.py::'
BB = TOOLS + 'test_tap_backbones_pretrain.py::'
ASL = TOOLS + 'test_auto_scale_lr.py::'
SENS = 'tests/test_datasets/test_scannet_sens.py::'
SCENES = 'tests/test_datasets/test_synthetic_scenes.py::'
MMFMT = 'tests/test_datasets/test_scannet_mmdet3d_format.py::'
SUN = 'tests/test_projects/test_mmdet3d_sunrgbd.py::'
S3DIS = 'tests/test_projects/test_mmdet3d_s3dis.py::'
VOTE = 'tests/test_projects/test_mmdet3d_votenet.py::'

COVERAGE = {
    # first shown on docs/data_preparation.md
    'python tools/create_data.py --help':
        Entry(EXAMPLES + 'test_documented_commands_name_existing_tools_and_parse', 'verbatim',
              'the whole command is the parse: --help exits 0 and prints its usage'),
    ('python tools/create_data.py synthetic-shapenet55 --out-dir data/'
     'synthetic_shapenet55'): UNRUN,
    'python tools/create_data.py synthetic-objects --out-dir data/synthetic_objects': UNRUN,
    'python tools/create_data.py synthetic-scenes --out data/synthetic_scannet':
        Entry(SCENES + 'test_create_data_cli', 'overrides', '--out in tmp, 1 room x 1 frame'),
    ('python tools/create_data.py synthetic-scannet-mmdet3d --out-dir data/'
     'synthetic_scannet_mmdet3d'):
        Entry(MMFMT + 'test_create_data_cli', 'overrides',
              '--out-dir in tmp, 1 + 1 rooms of 9,000 points'),
    ('python tools/dataset_converters/render_views.py MESH_DIR data/MyShapes '
     '--val-fraction 0.1 --test-fraction 0.1 --up-axis y --workers 2'): UNRUN,
    ('python tools/dataset_converters/scannet_sens.py data/scannet/scans data/'
     'scannet/frames --frame-skip 25'):
        Entry(SENS + 'test_converter_layout', 'overrides',
              'a .sens the test assembles byte by byte, in tmp; --frame-skip 2'),
    ('python tools/dataset_converters/scannet_sens.py data/scannet/scans data/'
     'scannet/frames --scenes scene0000_00 scene0000_01'): UNRUN,
    ('python tools/create_data.py synthetic-scenes --out data/synthetic_scans_sens '
     '--num-scenes 1 --frames-per-scene 2 --write-sens'): UNRUN,
    ('python tools/dataset_converters/scannet_sens.py data/synthetic_scans_sens data/'
     'synthetic_frames_from_sens --frame-skip 25'):
        Entry(SENS + 'test_converter_layout', 'overrides',
              ('on a .sens the test assembles instead of the --write-sens output; '
               '--frame-skip 2')),
    # first shown on docs/extending.md
    ('python tools/train.py docs/examples/tap_tiny-pointnet_synthetic.py --work-dir '
     'work_dirs/tap_tiny'): UNRUN,
    ('python tools/model_converters/publish_model.py work_dirs/tap_tiny/epoch_20.pth '
     'work_dirs/tap_tiny/backbone.pth'):
        Entry(EXAMPLES + 'test_extension_example_tap_step_publish_and_finetune', 'overrides',
              ("the tool's publish() (what its main() calls) on the example's "
               'one-step TAP checkpoint; tmp paths')),
    ('CROSSPT_PRETRAINED=work_dirs/tap_tiny/backbone-1a2b3c4d.pth python tools/'
     'train.py docs/examples/tiny-pointnet_ft_modelnet40_synthetic.py'): UNRUN,
    # first shown on docs/finetuning.md
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg=None'): UNRUN,
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_modelnet40.py CKPT '
     '--tta'): UNRUN,
    ('python tools/benchmarks/transfer.py configs/tap/benchmarks/'
     'pointmlp_ft_modelnet40_synthetic.py --pretrain-config configs/tap/'
     'pointmlp_synthetic.py --label-fraction 0.34 --seeds 0 1 2'): UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth bash '
     'tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg.py 4'): UNRUN,
    # first shown on docs/installation.md
    'bash tools/quickstart.sh':
        Entry(TWO + 'test_quickstart_sets_up_trains_and_says_where_the_results_are',
              'overrides',
              ('CROSSPT_INSTALL_CHECK_ONLY=1 (the set-up only checks), run from tmp, '
               '2 + 1 objects, 1 epoch')),
    'bash tools/run_tests.sh':
        Entry(TWO + 'test_run_tests_checks_the_set_up_and_runs_the_given_tests', 'overrides',
              'CROSSPT_INSTALL_CHECK_ONLY=1, one test file instead of the suite'),
    'bash tools/install.sh':
        Entry(TWO + 'test_run_tests_checks_the_set_up_and_runs_the_given_tests', 'overrides',
              ('as the spconv line; the tests set CROSSPT_WITH_SPCONV=1 where spconv '
               'imports, and its check is a superset of this one')),
    'CROSSPT_WITH_SPCONV=1 bash tools/install.sh':
        Entry(TWO + 'test_run_tests_checks_the_set_up_and_runs_the_given_tests', 'overrides',
              ('reached through run_tests.sh with CROSSPT_INSTALL_CHECK_ONLY=1: the '
               'check passes and it stops, as without the flag on a complete '
               'environment; the pip path never runs')),
    'python -m pip install "setuptools<70"': UNRUN,
    ('MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=2 python -m pip install '
     '--no-build-isolation "mmcv==2.1.0"'): UNRUN,
    ('python -c "import torch; print(torch.__version__, \'CUDA\', '
     'torch.cuda.is_available())"'):
        Entry(RUN + 'test_python_c_checks_print_the_installed_versions', 'verbatim'),
    ('python -c "import crosspt, mmcv, mmcv.ops; print(\'crosspt\', '
     'crosspt.__version__, \'mmcv\', mmcv.__version__)"'):
        Entry(RUN + 'test_python_c_checks_print_the_installed_versions', 'verbatim'),
    ('python -c "import projects.crosspt_mmdet3d.crosspt_mmdet3d, mmdet3d; '
     'print(\'mmdet3d\', mmdet3d.__version__)"'):
        Entry(RUN + 'test_python_c_checks_print_the_installed_versions', 'verbatim'),
    'python -c "import spconv.pytorch, spconv; print(\'spconv\', spconv.__version__)"':
        Entry(RUN + 'test_python_c_checks_print_the_installed_versions', 'verbatim'),
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --cfg-options '
     'train_cfg.max_epochs=1'):
        Entry(TAP + 'test_loss_falls_and_view_grids_are_written', 'overrides',
              ('tmp work dir, 12 + 4 cached objects, batch 4, 3 epochs then resumed '
               'to 6')),
    # first shown on docs/mmdet3d_integration.md
    ('python -c "import mmdet3d, os; '
     "print(os.listdir(os.path.join(os.path.dirname(mmdet3d.__file__), '.mim', "
     '\'configs\', \'pointnet2\')))"'):
        Entry(RUN + 'test_python_c_checks_print_the_installed_versions', 'verbatim'),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py'): UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth bash tools/'
     'dist_train.sh docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py 2'): UNRUN,
    ('python tools/test.py docs/examples/'
     'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py work_dirs/'
     'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg/epoch_200.pth'): UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py --cfg-options '
     'train_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'train_dataloader.dataset.scene_idxs=seg_info/train_resampled_scene_idxs.npy '
     'val_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'test_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'train_dataloader.batch_size=2 train_cfg.max_epochs=1'): UNRUN,
    ('python tools/train.py configs/ppkt/srunet34_synthetic.py --work-dir work_dirs/'
     'ppkt_srunet34'):
        Entry(PPKT + 'test_ppnce_falls_below_chance', 'overrides',
              ('CROSSPT_TEACHER a 120-iteration teacher, cached 4 rooms, 20 + 20 '
               'iterations in tmp')),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'projects/crosspt_mmdet3d/configs/ppkt/'
     'votenet-srunet34_ft_scannet-det_synthetic.py'):
        Entry(VOTE + 'test_votenet_twin_trains_from_ppkt_and_reports_indoor_metric',
              'overrides',
              ('CROSSPT_PRETRAINED a saved student, cached rooms, 4,096 points, 3 '
               'iterations')),
    # first shown on docs/pretraining.md
    ('python tools/train.py configs/tap/pointmlp_1xb32-100e_shapenet55.py --work-dir '
     'work_dirs/tap_pointmlp'): UNRUN,
    'bash tools/dist_train.sh configs/tap/pointmlp_1xb32-100e_shapenet55.py 8': UNRUN,
    ('NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29512 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'): UNRUN,
    ('NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29512 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'): UNRUN,
    ('GPUS=16 GPUS_PER_NODE=8 bash tools/slurm_train.sh PARTITION tap configs/tap/'
     'pointmlp_1xb32-100e_shapenet55.py work_dirs/tap_pointmlp'):
        Entry(SLURM + 'test_slurm_train_runs_train_py_with_the_slurm_launcher', 'stand-in',
              ('a fake srun records the task layout and argv; GPUS_PER_NODE=4, + '
               '--auto-scale-lr')),
    ('GPUS=8 bash tools/slurm_test.sh PARTITION tap-test configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py work_dirs/pointmlp_ft/epoch_300.pth'):
        Entry(SLURM + 'test_slurm_test_runs_test_py_with_the_slurm_launcher', 'stand-in',
              ('a fake srun records the task layout and argv; GPUS=16, + --tta '
               '--cfg-options')),
    'bash tools/dist_train.sh configs/tap/pointmlp_shapenet.py 8': UNRUN,
    'python tools/train.py configs/tap/pointmlp_synthetic.py --resume':
        Entry(TAP + 'test_resume_continues_from_saved_iteration', 'overrides',
              'small data and epochs in tmp (the latest checkpoint of a 3-epoch run)'),
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --resume work_dirs/'
     'pointmlp_synthetic/epoch_10.pth'): UNRUN,
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --cfg-options '
     'train_dataloader.batch_size=4 train_cfg.max_epochs=5'):
        Entry(TAP + 'test_loss_falls_and_view_grids_are_written', 'overrides',
              'batch 4 as here; small data, 3 + 3 epochs, tmp work dir'),
    'python tools/train.py configs/tap/pointmlp_synthetic.py --tensorboard':
        Entry(ASL + 'test_train_tool_auto_scale_lr_and_tensorboard', 'overrides',
              'with --auto-scale-lr, 8 generated objects, 1 epoch, tmp work dir'),
    'tensorboard --inspect --logdir work_dirs/pointmlp_synthetic':
        Entry(RUN + 'test_tensorboard_inspect_lists_the_logged_scalars', 'verbatim',
              ('argv from the page, run in a tmp folder holding an mmengine events '
               'file')),
    'bash tools/dist_train.sh configs/tap/transformer_1xb32-100e_shapenet55.py 8': UNRUN,
    'python tools/train.py configs/tap/pointmlp_synthetic.py':
        Entry(TAP + 'test_loss_falls_and_view_grids_are_written', 'overrides',
              'tmp work dir, 12 + 4 cached objects, batch 4, 3 + 3 epochs'),
    ('CROSSPT_TEACHER=/path/to/resnet50-0676ba61.pth bash tools/dist_train.sh '
     'configs/ppkt/srunet34_1xb24-60k_scannet.py 8 --cfg-options '
     'train_dataloader.batch_size=3'): UNRUN,
    'python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py':
        Entry(PPKT + 'test_ppnce_falls_below_chance', 'overrides',
              'the teacher fixture: cached 4 rooms, 120 iterations, tmp work dir'),
    ('python tools/train.py configs/ppkt/pointmlp_synthetic.py --work-dir work_dirs/'
     'ppkt_pointmlp'):
        Entry(PPKT + 'test_point_based_student_config_trains', 'overrides',
              'a 120-iteration teacher, cached rooms, 6 iterations, tmp work dir'),
    ('python tools/model_converters/publish_model.py work_dirs/tap_pointmlp/'
     'epoch_100.pth work_dirs/tap_pointmlp/tap_pointmlp.pth'):
        Entry(RUN + 'test_publish_commands_of_the_pretraining_page', 'verbatim',
              ('argv from the page, run in a tmp folder holding a test-written '
               'checkpoint')),
    ('python tools/model_converters/publish_model.py work_dirs/ppkt_srunet34/'
     'iter_360.pth ppkt_srunet34.pth'):
        Entry(RUN + 'test_publish_commands_of_the_pretraining_page', 'verbatim',
              ('argv from the page, run in a tmp folder holding a test-written '
               'checkpoint')),
    ('python tools/model_converters/publish_model.py work_dirs/ppkt_pointmlp/'
     'iter_360.pth ppkt_pointmlp.pth --prefix backbone.'):
        Entry(RUN + 'test_publish_commands_of_the_pretraining_page', 'verbatim',
              ('argv from the page, run in a tmp folder holding a test-written '
               'checkpoint')),
    ('python tools/model_converters/tap_to_crosspt.py pointmlp_clean.pth '
     'tap_pointmlp_crosspt.pth --backbone pointmlp'):
        Entry(CONV + 'test_cli_output_loads_with_pretrained_init', 'overrides',
              ('the CLI on a clean DGCNN file; the PointMLP mapping: '
               'test_clean_checkpoint_maps_every_tensor[pointmlp]')),
    ('python tools/model_converters/tap_to_crosspt.py pointnet2_clean.pth '
     'tap_pointnet2_crosspt.pth --backbone pointnet2'):
        Entry(CONV + 'test_cli_output_loads_with_pretrained_init', 'overrides',
              ('the CLI on a clean DGCNN file; the PointNet++ mapping: '
               'test_clean_checkpoint_maps_every_tensor[pointnet2]')),
    ('python tools/model_converters/tap_to_crosspt.py transformer_finetuned.pth '
     'tap_transformer_ft_crosspt.pth --backbone transformer --num-classes 15'):
        Entry(CONV + 'test_cli_finetuned_in_process', 'overrides',
              ('main() on a fine-tuned PointNet++ file, --num-classes 15; the '
               'Transformer mapping: '
               'test_finetuned_checkpoint_loads_strictly_into_classifier[transformer]')),
    # first shown on README.md
    ('CROSSPT_PRETRAINED=tap_pointmlp-1a2b3c4d.pth bash tools/dist_train.sh configs/'
     'tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py 8'): UNRUN,
    # first shown on configs/ppkt/README.md
    ('CROSSPT_TEACHER=/path/resnet50-0676ba61.pth bash tools/dist_train.sh configs/'
     'ppkt/srunet34_1xb24-60k_scannet.py 8 --cfg-options '
     'train_dataloader.batch_size=3'): UNRUN,
    ('python tools/benchmarks/scene_transfer.py projects/crosspt_mmdet3d/configs/'
     'ppkt/srunet34_scratch_scannet-seg_patch_synthetic.py projects/crosspt_mmdet3d/'
     'configs/ppkt/srunet34_ft_scannet-seg_patch_synthetic.py --pretrained work_dirs/'
     'ppkt_srunet34/iter_360.pth --scene-fraction 0.25 --seeds 0 1 2'): UNRUN,
    # first shown on configs/tap/README.md
    ('python tools/model_converters/publish_model.py work_dirs/'
     'pointmlp_1xb32-100e_shapenet55/epoch_100.pth tap_pointmlp.pth'):
        Entry(TAP + 'test_publish_backbone_only', 'overrides',
              "the short TAP run's epoch_6.pth, output in tmp"),
    'bash tools/dist_train.sh configs/tap/3detr-encoder_1xb32-100e_shapenet55.py 8': UNRUN,
    ('CROSSPT_PRETRAINED=work_dirs/3detr-encoder_1xb32-100e_shapenet55/epoch_100.pth '
     'bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/'
     '3detr_ft_scannet-det.py 1'): UNRUN,
    ('python tools/train.py projects/crosspt_mmdet3d/configs/tap/'
     '3detr_scratch_scannet-det_synthetic.py'):
        Entry(SCENE + 'test_3detr_detection_trains_and_tests_from_tap', 'overrides',
              ('runs its _base_ child 3detr_ft_scannet-det_synthetic.py, which only '
               'adds the encoder init_cfg; cached rooms, 3 iterations'),
              via='projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py'),
}

#: command -> why no test runs it yet, and what a cheap run would need
NOT_RUN = {
    # first shown on docs/data_preparation.md
    ('python tools/create_data.py synthetic-shapenet55 --out-dir data/'
     'synthetic_shapenet55'):
        ('no test runs the synthetic-shapenet55 subcommand '
         '(test_synthetic_objects.py only parses its defaults; the generator itself '
         'runs in test_datasets/test_synthetic.py). Cheap run: '
         "create_data.main(['synthetic-shapenet55', '--out-dir', tmp, '--num-train', "
         "'2', '--num-val', '1', '--num-test', '1', '--image-size', '32', "
         "'--no-progress']) and check the tree the page draws."),
    'python tools/create_data.py synthetic-objects --out-dir data/synthetic_objects':
        ('no test runs the synthetic-objects subcommand (test_synthetic_objects.py '
         'runs synthetic-fewshot / synthetic-scanobjectnn and parses '
         "synthetic-objects' defaults). Cheap run: "
         "create_data.main(['synthetic-objects', '--out-dir', tmp] + small per-class "
         'counts) and check the four sub-folders.'),
    ('python tools/dataset_converters/render_views.py MESH_DIR data/MyShapes '
     '--val-fraction 0.1 --test-fraction 0.1 --up-axis y --workers 2'):
        ('no test runs render_views.py with --workers > 1 (its process-pool path); '
         'the tests run one worker. Cheap run: add --workers 2 to the converted '
         'fixture run of test_render_views.py (5 meshes).'),
    ('python tools/dataset_converters/scannet_sens.py data/scannet/scans data/'
     'scannet/frames --scenes scene0000_00 scene0000_01'):
        ('no test runs scannet_sens.py with --scenes (converting a subset of the '
         'scans). Cheap run: two .sens scenes assembled as in test_scannet_sens.py, '
         'converted with --scenes naming one; only that one is written.'),
    ('python tools/create_data.py synthetic-scenes --out data/synthetic_scans_sens '
     '--num-scenes 1 --frames-per-scene 2 --write-sens'):
        ("no test passes create_data.py's --write-sens (the generator's "
         "write_sens=True runs in test_generator_hashes.py). Cheap run: the page's "
         'command as written in a tmp working folder (1 room x 2 frames), then the '
         'next command on its output.'),
    # first shown on docs/extending.md
    ('python tools/train.py docs/examples/tap_tiny-pointnet_synthetic.py --work-dir '
     'work_dirs/tap_tiny'):
        ("test_extension_example_tap_step_publish_and_finetune builds the config's "
         'TAP model and takes one step on a hand-made batch; tools/train.py with the '
         "config's own dataset and runner never runs. Cheap run: tools/train.py with "
         "test_train_tap.py's small_run_options (12 + 4 cached objects, 1 epoch)."),
    ('CROSSPT_PRETRAINED=work_dirs/tap_tiny/backbone-1a2b3c4d.pth python tools/'
     'train.py docs/examples/tiny-pointnet_ft_modelnet40_synthetic.py'):
        ('test_extension_example_tap_step_publish_and_finetune loads the published '
         "file into the config's model and computes one loss; tools/train.py never "
         'runs the config. Cheap run: tools/train.py with CROSSPT_PRETRAINED = that '
         'published file, cached ModelNet40 twin, 8 clouds, 1 epoch.'),
    # first shown on docs/finetuning.md
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg=None'):
        ('tools/train.py never runs the published ScanObjectNN recipe. Cheap run: as '
         'for the checkpoint variant, with init_cfg=None.'),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_modelnet40.py CKPT '
     '--tta'):
        ('tools/test.py --tta never runs the published ModelNet40 recipe. Cheap run: '
         'as for the best_cls_oa_epoch_250.pth line, with --tta and '
         'tta_pipeline.3.num_votes=2.'),
    ('python tools/benchmarks/transfer.py configs/tap/benchmarks/'
     'pointmlp_ft_modelnet40_synthetic.py --pretrain-config configs/tap/'
     'pointmlp_synthetic.py --label-fraction 0.34 --seeds 0 1 2'):
        ("test_transfer_benchmark.py tests transfer.py's functions (config, table, "
         'metrics reader); the tool never runs. Cheap run: --seeds 0 1 with '
         'shrinking --cfg-options and a 1-epoch pre-training.'),
    ('CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth bash '
     'tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg.py 4'):
        ('the real-ScanNet segmentation recipe is only built '
         '(test_scene_benchmarks.py::test_segmentation_evaluates_against_mapped_label'
         's); never trained. Cheap run: tools/dist_train.sh CONFIG 2 with data_root '
         'at the cached mmdet3d ScanNet twin, 2 iterations.'),
    # first shown on docs/installation.md
    'python -m pip install "setuptools<70"':
        ('a manual fix that changes the interpreter; the tests never install '
         '(CROSSPT_INSTALL_CHECK_ONLY=1). A run needs a throw-away virtual '
         'environment and the package index.'),
    ('MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=2 python -m pip install '
     '--no-build-isolation "mmcv==2.1.0"'):
        ('builds mmcv from source (about 9 minutes on 2 cores) into the interpreter; '
         'the tests never install. A run needs a throw-away virtual environment and '
         'the package index.'),
    # first shown on docs/mmdet3d_integration.md
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py'):
        ('test_mmdet3d_example_loads_published_ppkt_weights_and_segments_a_scene '
         'builds the model, loads the weights and segments one scene in process; '
         'tools/train.py never runs the example (real ScanNet). Cheap run: the '
         '"without ScanNet" command below, shrunk.'),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth bash tools/'
     'dist_train.sh docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py 2'):
        ('tools/dist_train.sh never runs the worked example. Cheap run: the "without '
         'ScanNet" --cfg-options, 2 processes, 2 iterations.'),
    ('python tools/test.py docs/examples/'
     'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py work_dirs/'
     'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg/epoch_200.pth'):
        ('tools/test.py never runs the worked example (the test segments one scene '
         "with the model's test_step). Cheap run: tools/test.py with a published "
         "random student and the twin's data_root."),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py --cfg-options '
     'train_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'train_dataloader.dataset.scene_idxs=seg_info/train_resampled_scene_idxs.npy '
     'val_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'test_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'train_dataloader.batch_size=2 train_cfg.max_epochs=1'):
        ("test_docs_examples.py reads this line's --cfg-options and builds the "
         "datasets; the training never runs. Cheap run: the line's argv from a tmp "
         'folder holding a 1 + 1-room twin, plus train_cfg.max_epochs=1 and a small '
         'batch count.'),
    # first shown on docs/pretraining.md
    ('python tools/train.py configs/tap/pointmlp_1xb32-100e_shapenet55.py --work-dir '
     'work_dirs/tap_pointmlp'):
        ('the published TAP recipe (ShapeNet55) is never trained '
         '(test_auto_scale_lr.py builds its optimizer only). Cheap run: tools/'
         'train.py with data_root at the cached ShapeNet55 twin (same on-disk '
         'format), 12 + 4 objects, 1 epoch of 3 iterations.'),
    'bash tools/dist_train.sh configs/tap/pointmlp_1xb32-100e_shapenet55.py 8':
        ('the published TAP recipe never runs, and not distributed. Cheap run: tools/'
         'dist_train.sh CONFIG 2 with the cached ShapeNet55 twin, 2 iterations.'),
    ('NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29512 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'):
        ('no test runs tools/dist_train.sh with NNODES > 1. Cheap run: two node '
         'launches (NNODES=2, NODE_RANK 0 / 1, MASTER_ADDR=127.0.0.1) of 1 process '
         'each, on the cached twin.'),
    ('NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29512 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'):
        'the second node of the two-node launch; see NODE_RANK=0.',
    'bash tools/dist_train.sh configs/tap/pointmlp_shapenet.py 8':
        ('the former name (a one-line alias, test_config_tree.py) of the published '
         "recipe, which no test runs either. Cheap run: the recipe's shrunk "
         '2-process run under this name.'),
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --resume work_dirs/'
     'pointmlp_synthetic/epoch_10.pth'):
        ('no test resumes this config from an explicit path (test_train_tap.py '
         'resumes without one; test_train_ppkt.py resumes the PPKT config with one). '
         "Cheap run: pass epoch_3.pth explicitly in test_train_tap.py's resumed run."),
    'bash tools/dist_train.sh configs/tap/transformer_1xb32-100e_shapenet55.py 8':
        ('the published Transformer TAP recipe never runs. Cheap run: tools/'
         'dist_train.sh CONFIG 2 on the cached ShapeNet55 twin, 2 iterations.'),
    ('CROSSPT_TEACHER=/path/to/resnet50-0676ba61.pth bash tools/dist_train.sh '
     'configs/ppkt/srunet34_1xb24-60k_scannet.py 8 --cfg-options '
     'train_dataloader.batch_size=3'):
        ('the published PPKT recipe never trains (test_image_teacher_url.py loads '
         'its teacher URL; test_sync_bn_runner.py reads sync_bn). Cheap run: tools/'
         'dist_train.sh CONFIG 2 with a random-init teacher, data_root at the cached '
         'ScanNet-frames twin, 2 iterations.'),
    # first shown on README.md
    ('CROSSPT_PRETRAINED=tap_pointmlp-1a2b3c4d.pth bash tools/dist_train.sh configs/'
     'tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py 8'):
        ('the published ScanObjectNN recipe is never trained (see docs/'
         "finetuning.md's dist_train line)."),
    # first shown on configs/ppkt/README.md
    ('CROSSPT_TEACHER=/path/resnet50-0676ba61.pth bash tools/dist_train.sh configs/'
     'ppkt/srunet34_1xb24-60k_scannet.py 8 --cfg-options '
     'train_dataloader.batch_size=3'):
        "the published PPKT recipe never trains (see docs/pretraining.md's line).",
    ('python tools/benchmarks/scene_transfer.py projects/crosspt_mmdet3d/configs/'
     'ppkt/srunet34_scratch_scannet-seg_patch_synthetic.py projects/crosspt_mmdet3d/'
     'configs/ppkt/srunet34_ft_scannet-seg_patch_synthetic.py --pretrained work_dirs/'
     'ppkt_srunet34/iter_360.pth --scene-fraction 0.25 --seeds 0 1 2'):
        ('no test runs tools/benchmarks/scene_transfer.py, nor the patch-protocol '
         "configs. Cheap run: as for docs/finetuning.md's scene_transfer line, with "
         'these configs.'),
    # first shown on configs/tap/README.md
    'bash tools/dist_train.sh configs/tap/3detr-encoder_1xb32-100e_shapenet55.py 8':
        ('the published 3DETR-encoder TAP recipe never runs. Cheap run: tools/'
         'dist_train.sh CONFIG 2 on the cached ShapeNet55 twin with '
         'preenc_npoints=256, 2 iterations.'),
    ('CROSSPT_PRETRAINED=work_dirs/3detr-encoder_1xb32-100e_shapenet55/epoch_100.pth '
     'bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/'
     '3detr_ft_scannet-det.py 1'):
        ('the real-ScanNet 3DETR fine-tuning recipe is only built '
         '(test_random_cuboid.py, test_analysis_tools.py). Cheap run: dist_train.sh '
         'CONFIG 1 on the cached twin with a saved encoder, 2 iterations.'),
}
