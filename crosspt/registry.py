"""crosspt registries: children of the mmengine root registries, scope ``crosspt``.

Every registry imports its modules lazily from ``locations`` on first ``get``, so
``import crosspt.registry`` costs nothing.  Configs set ``default_scope='crosspt'``;
mmdet3d types are reached as ``'mmdet3d.X'`` or with ``_scope_='mmdet3d'``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'crosspt'


def _child(name: str, parent: Registry, locations: list) -> Registry:
    return Registry(name, parent=parent, scope=SCOPE, locations=locations)


_ENGINE = ['crosspt.engine']
RUNNERS = _child('runner', MMENGINE_RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor', MMENGINE_RUNNER_CONSTRUCTORS, _ENGINE)
LOOPS = _child('loop', MMENGINE_LOOPS, _ENGINE)
HOOKS = _child('hook', MMENGINE_HOOKS, ['crosspt.engine.hooks'])
DATASETS = _child('dataset', MMENGINE_DATASETS, ['crosspt.datasets'])
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, ['crosspt.datasets'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, ['crosspt.datasets.transforms'])
MODELS = _child('model', MMENGINE_MODELS, ['crosspt.models'])
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, ['crosspt.models'])
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS, ['crosspt.models'])
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, _ENGINE)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, _ENGINE)
METRICS = _child('metric', MMENGINE_METRICS, ['crosspt.evaluation'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, ['crosspt.evaluation'])
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, ['crosspt.models'])
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, _ENGINE)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, _ENGINE)
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS, _ENGINE)
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS, _ENGINE)
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, ['crosspt.synthetic'])
