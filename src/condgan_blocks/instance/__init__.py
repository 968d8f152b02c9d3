"""Instance maps (paper section 3.3 and 3.4): label one-hot, the boundary map, instance-wise
pooling, the feature encoder E and the bank of instance features behind style control (and
the files that choose a style per instance)."""

from .boundary import InstanceBoundary, instance_boundary
from .encoder import InstanceFeatureEncoder
from .feature_bank import FeatureBank
from .ids import instance_to_class
from .one_hot import OneHotLabels, one_hot_labels
from .pooling import InstanceAveragePool, instance_average_pool
from .style_choices import read_style_choices, style_choices_for

__all__ = [
    "FeatureBank",
    "InstanceAveragePool",
    "InstanceBoundary",
    "InstanceFeatureEncoder",
    "OneHotLabels",
    "instance_average_pool",
    "instance_boundary",
    "instance_to_class",
    "one_hot_labels",
    "read_style_choices",
    "style_choices_for",
]
