from .photograph import TAPMemoryBuilder, TAPPhotographModule
from .query_generator import TAPQueryGenerator
from .tap import TAP, TAPDataPreprocessor
from .view_head import FgBgWeightedMSELoss, TAPViewDecoder, TAPViewHead

__all__ = ['TAP', 'TAPDataPreprocessor', 'TAPQueryGenerator', 'TAPMemoryBuilder',
           'TAPPhotographModule', 'TAPViewDecoder', 'TAPViewHead', 'FgBgWeightedMSELoss']
