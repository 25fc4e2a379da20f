"""Seed 000 (Dual-GAN: DeblurGAN then ESRGAN), Table 1 "Comparisons on the GoPro dataset"."""

from experiments.entry import Entry, PaperRow

ENTRY = Entry(
    name="table_dualgan",
    seed="000",
    title="Dual-GAN (DeblurGAN then ESRGAN), Table 1: comparisons on GoPro",
    runs=(
        "four stages: the paper's deblurring stage (model=dualgan_deblur), the 2018 DeblurGAN "
        "recipe (model=deblurgan), ESRGAN-PSNR then ESRGAN (x4); then bicubic x4, each stage "
        "alone and the chains, on blurred low-resolution inputs (conf/experiment/dual_gan.yaml)"
    ),
    data=(
        "GoPro (deblurring stages, real blur, frames bicubic x4 down), DIV2K (SR stages), "
        "evaluation on GoPro test frames x4 down against the sharp 1280x720 and on Set5"
    ),
    protocol=(
        "ours: GoPro RGB, no border crop, 8-bit, SSIM 2d; Set5 Y channel BT.601, 4-pixel crop. "
        "The paper states neither its protocol nor whether its GoPro inputs were low-resolution; "
        "its DeblurGAN / DeblurGAN-v2 rows are copied from those papers (complex-wavelet SSIM)"
    ),
    paper=(
        PaperRow("deblurgan", "DeblurGAN [11]", 28.70, 0.858),
        PaperRow("edge_heuristic_gan", "Edge Heuristic GAN [2]", 29.32, 0.933),
        PaperRow("deblurgan_v2", "DeblurGAN-v2 [12]", 29.55, 0.934),
        PaperRow("dual_gan", "Dual GAN (Ours)", 32.01, 0.906),
    ),
    configs={"full": "dual_gan", "smoke": "dual_gan_smoke"},
    roots={
        "GOPRO": "dual_gan.gopro_root",
        "DIV2K": "dual_gan.div2k_root",
        "SR": "dual_gan.sr_root",
    },
    full_overrides=("dual_gan.trainer=gpu",),
)
