"""Uploaded photos: format sniffing, metadata stripping, quality metrics, perceptual hashing."""

from .formats import MEDIA_TYPES, ImageFormat, sniff_format
from .intake import ImageLimits, PreparedImage, decode_rgb, prepare_image
from .phash import NEAR_DUPLICATE_MAX_DISTANCE, hamming_distance, near_duplicate_pairs, perceptual_hash
from .preprocess import to_model_input
from .quality import QualityMetrics, measure_quality
from .sanitize import sanitize_image

__all__ = [
    "MEDIA_TYPES",
    "NEAR_DUPLICATE_MAX_DISTANCE",
    "ImageFormat",
    "ImageLimits",
    "PreparedImage",
    "QualityMetrics",
    "decode_rgb",
    "hamming_distance",
    "measure_quality",
    "near_duplicate_pairs",
    "perceptual_hash",
    "prepare_image",
    "sanitize_image",
    "sniff_format",
    "to_model_input",
]
