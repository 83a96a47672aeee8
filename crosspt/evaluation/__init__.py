from .view_metric import ViewGenerationMetric

__all__ = ['ViewGenerationMetric']
