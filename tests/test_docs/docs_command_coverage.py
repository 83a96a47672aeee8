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
- ``how``: ``'verbatim'`` (exactly this argv, usually read from the page), ``'overrides'``
  (the same tool on the same config / paths with shrinking options: fewer iterations,
  objects or seeds, a tmp work dir, a data_root at the embedded twin in the same on-disk
  format, 2 processes instead of 8, a loopback mirror for a URL) or ``'stand-in'`` (an
  external program replaced, e.g. slurm's ``srun``);
- ``note``: what differs from the page, in a few words (required unless verbatim);
- ``via``: the config the test runs when it is a direct ``_base_`` relative of the
  page's config whose only difference is covered elsewhere (said in the note).

tests/test_docs/test_command_coverage.py checks the table against the pages and the
tests. This module holds the commands of docs/data_preparation.md, docs/extending.md,
docs/installation.md, docs/mmdet3d_integration.md, docs/pretraining.md and
configs/*/README.md;
docs_command_coverage_more.py the others (docs/finetuning.md, README.md,
projects/*/README.md).
"""
from typing import NamedTuple, Optional


class Entry(NamedTuple):
    """Where a documented command runs (see the module docstring)."""
    test: str
    how: str
    note: str = ''
    via: Optional[str] = None


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
DATA = DOCS + 'test_docs_data_commands.py::'
ASL = TOOLS + 'test_auto_scale_lr.py::'
BENCH = DOCS + 'test_docs_benchmark_commands.py::'
SENS = 'tests/test_datasets/test_scannet_sens.py::'
SCENES = 'tests/test_datasets/test_synthetic_scenes.py::'
MMFMT = 'tests/test_datasets/test_scannet_mmdet3d_format.py::'
SUN = 'tests/test_projects/test_mmdet3d_sunrgbd.py::'
S3DIS = 'tests/test_projects/test_mmdet3d_s3dis.py::'
VOTE = 'tests/test_projects/test_mmdet3d_votenet.py::'
PUBLISHED = DOCS + 'test_docs_recipes.py::'
PUBLISHED_TAP = PUBLISHED + 'test_tap_recipe_dist_train_lines'
#: notes of the dist_*.sh lines test_docs_recipes.py runs (recording PYTHON, then one rank)
RECORDED = ('dist_train.sh run with a recording PYTHON (torchrun options checked), then '
            'the rank argv as a 1-process world')
TWO_NODES = ('the prefix reaches torchrun as --nnodes/--node_rank/--master_addr/'
             "--master_port (recording PYTHON); the rank argv, the same as the single-node "
             "line's, runs as a 1-process world; ShapeNet55 twin, 1 object, 1 step")
TAP_RECORDED = (RECORDED + '; tmp folder whose data/ShapeNet55 is the ShapeNet55 twin '
                '(224-px views), 1 object, 1 step, no validation')
PPKT_RECORDED = (RECORDED + '; CROSSPT_TEACHER a random ResNet-50 saved as resnet50-<its '
                 'sha8>.pth under tmp path/; frames twin as data/scannet/frames; batch 1, '
                 '1 iteration, no checkpoint')
SONN_RECORDED = (RECORDED + "; CROSSPT_PRETRAINED the 1-step TAP run's published backbone "
                 "at the page's path (real sha); ScanObjectNN twin, 2 + 2 objects, 1 step")
RECIPES = 'tests/test_projects/test_docs_scene_recipes.py::'

COVERAGE = {
    # first shown on docs/data_preparation.md
    'python tools/create_data.py --help':
        Entry(EXAMPLES + 'test_documented_commands_name_existing_tools_and_parse', 'verbatim',
              'the whole command is the parse: --help exits 0 and prints its usage'),
    ('python tools/create_data.py synthetic-shapenet55 --out-dir data/'
     'synthetic_shapenet55'):
        Entry(DATA + 'test_synthetic_shapenet55_command_writes_the_tree_of_the_page',
              'overrides', ("+ the page's --num-train 2 --num-val 1 --num-test 1 and "
                            '--no-progress; main() in process, from a tmp folder')),
    'python tools/create_data.py synthetic-objects --out-dir data/synthetic_objects':
        Entry(DATA + 'test_synthetic_objects_command_writes_the_data_roots_of_the_configs',
              'overrides', ('1 train + 1 test shape per class, 2-way 1-shot 1 fold; main() '
                            'in process, from a tmp folder')),
    'python tools/create_data.py synthetic-scenes --out data/synthetic_scannet':
        Entry(SCENES + 'test_create_data_cli', 'overrides', '--out in tmp, 1 room x 1 frame'),
    ('python tools/create_data.py synthetic-scannet-mmdet3d --out-dir data/'
     'synthetic_scannet_mmdet3d'):
        Entry(MMFMT + 'test_create_data_cli', 'overrides',
              '--out-dir in tmp, 1 + 1 rooms of 9,000 points'),
    ('python tools/dataset_converters/render_views.py MESH_DIR data/MyShapes '
     '--val-fraction 0.1 --test-fraction 0.1 --up-axis y --workers 2'):
        Entry(DATA + 'test_render_views_with_two_workers', 'overrides',
              ("MESH_DIR = test_render_views.py's 5 hand-written meshes; run from a "
               'tmp folder')),
    ('python tools/dataset_converters/scannet_sens.py data/scannet/scans data/'
     'scannet/frames --frame-skip 25'):
        Entry(SENS + 'test_converter_layout', 'overrides',
              'a .sens the test assembles byte by byte, in tmp; --frame-skip 2'),
    ('python tools/dataset_converters/scannet_sens.py data/scannet/scans data/'
     'scannet/frames --scenes scene0000_00 scene0000_01'):
        Entry(DATA + 'test_converter_scenes_option_writes_only_the_named_scenes', 'verbatim',
              ('from a tmp folder whose data/scannet/scans holds 3 links to the '
               '--write-sens output')),
    ('python tools/create_data.py synthetic-scenes --out data/synthetic_scans_sens '
     '--num-scenes 1 --frames-per-scene 2 --write-sens'):
        Entry(DATA + 'test_frames_extracted_from_the_written_sens_equal_the_written_frames',
              'overrides', ('run from an empty tmp folder with --frame-step 2 (the .sens '
                            'holds 4 frames, not 50)')),
    ('python tools/dataset_converters/scannet_sens.py data/synthetic_scans_sens data/'
     'synthetic_frames_from_sens --frame-skip 25'):
        Entry(DATA + 'test_frames_extracted_from_the_written_sens_equal_the_written_frames',
              'overrides', ('from the tmp folder of the --write-sens line before it, '
                            '--frame-skip 2 to match its --frame-step')),
    # first shown on docs/extending.md
    ('python tools/train.py docs/examples/tap_tiny-pointnet_synthetic.py --work-dir '
     'work_dirs/tap_tiny'):
        Entry(DATA + 'test_extension_example_pretrains_publishes_and_fine_tunes', 'overrides',
              ('tmp work dir; the cached 224-px ShapeNet55 twin, 1 object x 1 iteration, '
               'batch 1, 1 validation object')),
    ('python tools/model_converters/publish_model.py work_dirs/tap_tiny/epoch_20.pth '
     'work_dirs/tap_tiny/backbone.pth'):
        Entry(DATA + 'test_extension_example_pretrains_publishes_and_fine_tunes', 'overrides',
              "the run above's epoch_1.pth instead of epoch_20.pth; tmp paths"),
    ('CROSSPT_PRETRAINED=work_dirs/tap_tiny/backbone-1a2b3c4d.pth python tools/'
     'train.py docs/examples/tiny-pointnet_ft_modelnet40_synthetic.py'):
        Entry(DATA + 'test_extension_example_pretrains_publishes_and_fine_tunes', 'overrides',
              ('CROSSPT_PRETRAINED = the file published above; cached ModelNet40 twin, 8 '
               'clouds, batch 4, 1 epoch, 2 validation clouds; tmp work dir')),
    # first shown on docs/finetuning.md
    ('python tools/train.py configs/tap/benchmarks/'
     'pointmlp_ft_scanobjectnn-pb-t50-rs.py --cfg-options '
     'model.backbone.init_cfg=None'):
        Entry(PUBLISHED + 'test_scanobjectnn_recipe_trains_from_scratch', 'overrides',
              ('tmp folder whose data/ScanObjectNN/h5_files is the twin; 2 objects, 1 '
               'step, no validation')),
    ('python tools/test.py configs/tap/benchmarks/pointmlp_ft_modelnet40.py CKPT '
     '--tta'):
        Entry(PUBLISHED + 'test_modelnet40_recipe_tests_with_tta', 'overrides',
              ("CKPT: a 1-step fine-tuning's epoch_1.pth; ModelNet40 twin, 2 test "
               'objects, 2 votes')),
    ('python tools/benchmarks/transfer.py configs/tap/benchmarks/'
     'pointmlp_ft_modelnet40_synthetic.py --pretrain-config configs/tap/'
     'pointmlp_synthetic.py --label-fraction 0.34 --seeds 0 1 2'):
        Entry(BENCH + 'test_transfer_pretrains_publishes_and_compares', 'overrides',
              ('read from the page; the pre-training config a tmp _base_ child of '
               'pointmlp_synthetic.py (1 + 1 generated objects, 1 epoch), seed 0, '
               '--max-epochs 3, cached ModelNet40 twin (8 + 6 clouds), tmp work dir')),
    ('CROSSPT_PRETRAINED=work_dirs/srunet34_1xb24-60k_scannet/iter_60000.pth bash '
     'tools/dist_train.sh projects/crosspt_mmdet3d/configs/ppkt/'
     'srunet34_ft_scannet-seg.py 4'):
        Entry(RECIPES + 'test_srunet34_ft_scannet_seg_one_rank', 'overrides',
              ('one rank of 4 as a 1-process world, run from a copy of the '
               'repository root: data/scannet/ a 2 + 1-room twin, the page\'s '
               'checkpoint a random PPKT student; 1 iteration')),
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
    'python -m pip install "setuptools<70"':
        Entry(DATA + 'test_install_script_runs_the_pip_lines_of_the_page', 'stand-in',
              ('what tools/install.sh runs where pkg_resources is missing: PYTHON = a '
               'stand-in that records its pip argv (page argv + --disable-pip-version-'
               'check -q); nothing is installed')),
    ('MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=2 python -m pip install '
     '--no-build-isolation "mmcv==2.1.0"'):
        Entry(DATA + 'test_install_script_runs_the_pip_lines_of_the_page', 'stand-in',
              ('what tools/install.sh runs where mmcv is missing and CUDA is not: the '
               "stand-in PYTHON records the pip argv and the three variables; mmcv is "
               'not built')),
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
     'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py'):
        Entry(RECIPES + 'test_worked_example_trains_and_tests_on_data_scannet',
              'overrides',
              ('run from a copy of the repository root: data/scannet/ a 2 + '
               '1-room twin, the page\'s checkpoint a random PPKT student; 1 '
               'epoch (1 iteration)')),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth bash tools/'
     'dist_train.sh docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py 2'):
        Entry(RECIPES + 'test_worked_example_dist_train_one_rank', 'overrides',
              ('one rank of 2 as a 1-process world (dist_train.sh itself: '
               'test_resume_exact.py, 2 processes); twin at data/scannet/, 1 '
               'iteration, no validation or checkpoint')),
    ('python tools/test.py docs/examples/'
     'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py work_dirs/'
     'mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg/epoch_200.pth'):
        Entry(RECIPES + 'test_worked_example_trains_and_tests_on_data_scannet',
              'overrides',
              ("the 1-epoch run's epoch_1.pth in the page's work dir, twin at "
               "data/scannet/; repeats the run's val mIoU")),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'docs/examples/mmdet3d_pointnet2-to-srunet34-ppkt_scannet-seg.py --cfg-options '
     'train_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'train_dataloader.dataset.scene_idxs=seg_info/train_resampled_scene_idxs.npy '
     'val_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'test_dataloader.dataset.data_root=data/synthetic_scannet_mmdet3d/ '
     'train_dataloader.batch_size=2 train_cfg.max_epochs=1'):
        Entry(RECIPES + 'test_worked_example_without_scannet', 'overrides',
              ('run from a copy of the repository root holding a 2 + 1-room '
               'data/synthetic_scannet_mmdet3d/; the page\'s checkpoint a random '
               'PPKT student; no validation or checkpoint')),
    ('python tools/train.py configs/ppkt/srunet34_synthetic.py --work-dir work_dirs/'
     'ppkt_srunet34'):
        Entry(PPKT + 'test_ppnce_falls_below_chance', 'overrides',
              ('CROSSPT_TEACHER a 120-iteration teacher, cached 4 rooms, 40 '
               'iterations of batch 2 in tmp')),
    ('CROSSPT_PRETRAINED=work_dirs/ppkt_srunet34/iter_360.pth python tools/train.py '
     'projects/crosspt_mmdet3d/configs/ppkt/'
     'votenet-srunet34_ft_scannet-det_synthetic.py'):
        Entry(VOTE + 'test_votenet_twin_trains_from_ppkt_and_reports_indoor_metric',
              'overrides',
              ('CROSSPT_PRETRAINED a saved student, cached rooms, 4,096 points, 3 '
               'iterations')),
    # first shown on docs/pretraining.md
    ('python tools/train.py configs/tap/pointmlp_1xb32-100e_shapenet55.py --work-dir '
     'work_dirs/tap_pointmlp'):
        Entry(PUBLISHED + 'test_tap_recipe_trains_with_tools_train', 'overrides',
              ('tmp folder whose data/ShapeNet55 is the ShapeNet55 twin (224-px '
               'views), 1 object, 1 step, no validation; then publish_model.py on its '
               'epoch_1.pth')),
    'bash tools/dist_train.sh configs/tap/pointmlp_1xb32-100e_shapenet55.py 8':
        Entry(PUBLISHED_TAP + '[pointmlp_1xb32-100e_shapenet55.py]', 'overrides',
              TAP_RECORDED + '; dist_train.sh on 2 processes: test_resume_exact.py'),
    ('NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29512 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'):
        Entry(PUBLISHED_TAP + '[pointmlp_1xb32-100e_shapenet55.py]', 'overrides',
              TWO_NODES),
    ('NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29512 bash tools/dist_train.sh '
     'configs/tap/pointmlp_1xb32-100e_shapenet55.py 8'):
        Entry(PUBLISHED_TAP + '[pointmlp_1xb32-100e_shapenet55.py]', 'overrides',
              TWO_NODES),
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
    'bash tools/dist_train.sh configs/tap/pointmlp_shapenet.py 8':
        Entry(PUBLISHED_TAP + '[pointmlp_1xb32-100e_shapenet55.py]', 'overrides',
              ('dist_train.sh with a recording PYTHON hands each rank this former '
               'name, which resolves to the same config as '
               "pointmlp_1xb32-100e_shapenet55.py (checked); that config's one-rank "
               'run (ShapeNet55 twin, 1 object, 1 step) stands for it'),
              via='configs/tap/pointmlp_1xb32-100e_shapenet55.py'),
    'python tools/train.py configs/tap/pointmlp_synthetic.py --resume':
        Entry(TAP + 'test_resume_continues_from_saved_iteration', 'overrides',
              'small data and epochs in tmp (the latest checkpoint of a 3-epoch run)'),
    ('python tools/train.py configs/tap/pointmlp_synthetic.py --resume work_dirs/'
     'pointmlp_synthetic/epoch_10.pth'):
        Entry(TAP + 'test_resume_from_an_explicit_checkpoint_path', 'overrides',
              ("the 6-epoch fixture's epoch_4.pth (not its latest) for epoch_10.pth; small "
               'data, 1 more epoch, tmp work dir')),
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
    'bash tools/dist_train.sh configs/tap/transformer_1xb32-100e_shapenet55.py 8':
        Entry(PUBLISHED_TAP + '[transformer_1xb32-100e_shapenet55.py]', 'overrides',
              TAP_RECORDED),
    'python tools/train.py configs/tap/pointmlp_synthetic.py':
        Entry(TAP + 'test_loss_falls_and_view_grids_are_written', 'overrides',
              'tmp work dir, 12 + 4 cached objects, batch 4, 3 + 3 epochs'),
    ('CROSSPT_TEACHER=/path/to/resnet50-0676ba61.pth bash tools/dist_train.sh '
     'configs/ppkt/srunet34_1xb24-60k_scannet.py 8 --cfg-options '
     'train_dataloader.batch_size=3'):
        Entry(PUBLISHED + 'test_ppkt_recipe_dist_train_lines', 'overrides',
              PPKT_RECORDED),
    'python tools/train.py configs/ppkt/teacher2d/resnet18-w32_synthetic-seg.py':
        Entry(PPKT + 'test_ppnce_falls_below_chance', 'overrides',
              ('the teacher fixture: cached 4 rooms, 120 iterations of 4 crops, tmp '
               'work dir')),
    ('python tools/train.py configs/ppkt/pointmlp_synthetic.py --work-dir work_dirs/'
     'ppkt_pointmlp'):
        Entry(PPKT + 'test_point_based_student_config_trains', 'overrides',
              ('a 120-iteration teacher, cached rooms, 2 iterations of batch 2 on 4 '
               'frames, 4 validation frames, tmp work dir')),
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
     'tap/benchmarks/pointmlp_ft_scanobjectnn-pb-t50-rs.py 8'):
        Entry(PUBLISHED + 'test_scanobjectnn_recipe_dist_train_from_the_published_tap_backbone',
              'overrides',
              SONN_RECORDED),
    # first shown on configs/ppkt/README.md
    ('CROSSPT_TEACHER=/path/resnet50-0676ba61.pth bash tools/dist_train.sh configs/'
     'ppkt/srunet34_1xb24-60k_scannet.py 8 --cfg-options '
     'train_dataloader.batch_size=3'):
        Entry(PUBLISHED + 'test_ppkt_recipe_dist_train_lines', 'overrides',
              PPKT_RECORDED),
    ('python tools/benchmarks/scene_transfer.py projects/crosspt_mmdet3d/configs/'
     'ppkt/srunet34_scratch_scannet-seg_patch_synthetic.py projects/crosspt_mmdet3d/'
     'configs/ppkt/srunet34_ft_scannet-seg_patch_synthetic.py --pretrained work_dirs/'
     'ppkt_srunet34/iter_360.pth --scene-fraction 0.25 --seeds 0 1 2'):
        Entry(BENCH + 'test_scene_transfer_lines[configs/ppkt/README.md]', 'overrides',
              ('read from the page; --pretrained the tiny 24-room PPKT student, seed 0, '
               '2 + 1 generated rooms of 4,000 points, batch 1, 1 iteration, tmp work '
               'dir')),
    # first shown on configs/tap/README.md
    ('python tools/model_converters/publish_model.py work_dirs/'
     'pointmlp_1xb32-100e_shapenet55/epoch_100.pth tap_pointmlp.pth'):
        Entry(TAP + 'test_publish_backbone_only', 'overrides',
              "the short TAP run's epoch_6.pth, output in tmp"),
    'bash tools/dist_train.sh configs/tap/3detr-encoder_1xb32-100e_shapenet55.py 8':
        Entry(PUBLISHED_TAP + '[3detr-encoder_1xb32-100e_shapenet55.py]', 'overrides',
              TAP_RECORDED),
    ('CROSSPT_PRETRAINED=work_dirs/3detr-encoder_1xb32-100e_shapenet55/epoch_100.pth '
     'bash tools/dist_train.sh projects/crosspt_mmdet3d/configs/tap/'
     '3detr_ft_scannet-det.py 1'):
        Entry(RECIPES + 'test_3detr_ft_scannet_det_one_rank', 'overrides',
              ('1-process world, copy of the repository root with a 2 + 1-room '
               'data/scannet/, the page\'s checkpoint a random TAP encoder; 1 '
               'epoch, no validation; sampling shrunk (1,024 points, 128 '
               'centres, 32 queries; the full sampling took 46 s)')),
    ('python tools/train.py projects/crosspt_mmdet3d/configs/tap/'
     '3detr_scratch_scannet-det_synthetic.py'):
        Entry(SCENE + 'test_3detr_detection_trains_and_tests_from_tap', 'overrides',
              ('runs its _base_ child 3detr_ft_scannet-det_synthetic.py, which only '
               'adds the encoder init_cfg; cached rooms, 2 iterations of batch 2'),
              via='projects/crosspt_mmdet3d/configs/tap/3detr_ft_scannet-det_synthetic.py'),
}
