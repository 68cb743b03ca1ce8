"""Inference functions (as in OpenMMLab's ``apis``): what tools/infer.py builds on."""
