"""Seed 002 (U-Net + residual blocks, PatchGAN), Table 1 "Quantitative evaluation"."""

from experiments.entry import Entry, PaperRow

ENTRY = Entry(
    name="table_unet_patchgan",
    seed="002",
    title="U-Net + PatchGAN, Table 1: quantitative evaluation of deblurring",
    runs=(
        "U-Net + PatchGAN (model=unet_patchgan) on the paper's 1600/300/313 split; DeblurGAN "
        "(model=deblurgan) both at full resolution and with its loader's 640x360 resize "
        "(data.resize=[640,360], scored on resized frames: DeblurGAN's own protocol); the "
        "classical baselines (non-local means; Wiener and Richardson-Lucy with the true kernel, "
        "synthetic blur only) and the blurred input"
    ),
    data=(
        "GoPro: 2,213 pairs split 1600 / 300 / 313 (data.val_source=unet_patchgan), "
        "batch 16, 100 epochs"
    ),
    protocol=(
        "ours: RGB, no border crop, 8-bit, SSIM 2d; the paper does not state its protocol, "
        "and its DeblurGAN row is not the DeblurGAN paper's number (28.70)"
    ),
    paper=(
        PaperRow("unet_patchgan", "Proposed GAN (U-Net + PatchGAN)", 32.85, 0.93),
        PaperRow("deblurgan", "DeblurGAN", 30.40, 0.88),
        PaperRow("deep_image_prior", "Deep Image Prior", 29.75, 0.85),
        PaperRow("nl_means", "Non-Local Means", 28.30, 0.80),
    ),
    configs={"full": "table_unet_patchgan", "smoke": "table_unet_patchgan_smoke"},
    roots={"GOPRO": "tables.gopro_root"},
)
