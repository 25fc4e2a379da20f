"""How a weights file loads into the suite's networks: `restoregan.nets.load_weights`.

- ``core``: the file reader (weights-only), the strict loader, `CheckpointError`, and the
  `Converter` record each published family fills in;
- ``suite``: this suite's own Lightning checkpoints (generator, EMA preferred, or
  discriminator weights);
- one converter module per published family: ``deblurgan`` (DeblurGAN 2018 generator and
  its NLayerDiscriminator), ``esrgan`` (the three ESRGAN namings and BasicSR's wrappers),
  ``basicsr`` (BasicSR's VGGStyleDiscriminator);
- ``load``: `load_weights`, which recognises the family from the keys.
"""
