"""Seed 003 (ResNet generator + 70x70 PatchGAN; "GAN 3.15M" vs "CNN 17.1M"), Comparison Table 1."""

from experiments.entry import Entry, PaperRow

ENTRY = Entry(
    name="table_gan_vs_cnn",
    seed="003",
    title="GAN 3.15M vs CNN 17.1M, Comparison Table 1 (plus the ResNet + PatchGAN70 recipe)",
    runs=(
        "the conv/deconv GAN (model=convdeconv_gan, 3,102,467 parameters), the plain CNN "
        "(model=cnn_baseline, 17.1M) and the paper's described ResNet + 70x70 PatchGAN "
        "(model=resnet_patchgan), each trained then scored with the blurred input"
    ),
    data=(
        "GoPro, [0, 1] images, 256 crops (224 for the conv/deconv GAN: its layer table), "
        "random crop / flip / rotation / colour jitter"
    ),
    protocol=(
        "ours: RGB, no border crop, 8-bit, SSIM 2d; the paper's numbers are Keras training-log "
        "metrics (its printed log shows PSNR 33.85 and val_PSNR 34.77), protocol unstated"
    ),
    paper=(
        PaperRow("cnn_baseline", "CNN (17.1M parameters)", 33.45, 0.864, note="paper ACC 0.96"),
        PaperRow("convdeconv_gan", "GAN (3.15M parameters)", 33.85, 0.866, note="paper ACC 0.90"),
    ),
    configs={"full": "table_gan_vs_cnn", "smoke": "table_gan_vs_cnn_smoke"},
    roots={"GOPRO": "tables.gopro_root"},
)
