"""The weight init the three families' reference code shares."""
from mmengine.model.weight_init import trunc_normal_
from torch import nn


def init_linear_and_layer_norm(module: nn.Module) -> bool:
    """Trunc-normal (std 0.02) Linear weights with zero bias, unit LayerNorm; True when ``module`` was one of them."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
        return True
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
        return True
    return False
