from .backbones import *  # noqa: F401,F403
from .tap import *  # noqa: F401,F403
