from .config_utils import check_cfg_options

__all__ = ['check_cfg_options']
