# upernet_scalablevit_demo.py with a Swin of the same size (32-256 channels, 2 blocks per stage, MLP ratio 2):
# the other families' demos run in the slow tests (make test-all). Window 4 divides the 32/16/8/4 maps.
_base_ = ['./upernet_scalablevit_demo.py']
model = dict(backbone=dict(
    _delete_=True, type='vdense.Swin', arch=dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8]),
    mlp_ratio=2., drop_path_rate=0., window_size=4))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
