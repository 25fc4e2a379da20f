"""restoregan: GAN-based image deblurring and super-resolution with Lightning and Hydra."""

__version__ = "0.1.0"
