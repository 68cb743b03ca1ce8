"""Inference functions (as in OpenMMLab's ``apis``): what tools/infer.py builds on."""
from .inference import (
                        InferenceInputError,
                        Predictor,
                        batches,
                        check_image,
                        check_readable,
                        collect_images,
                        dataset_meta_from_config,
                        decode_image,
                        output_names,
                        run_inference,
)

__all__ = ['InferenceInputError', 'Predictor', 'batches', 'check_image', 'check_readable', 'collect_images',
           'dataset_meta_from_config', 'decode_image', 'output_names', 'run_inference']
