from .config_utils import check_cfg_options, load_tool_config

__all__ = ['check_cfg_options', 'load_tool_config']
