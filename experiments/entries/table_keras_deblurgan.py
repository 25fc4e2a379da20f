"""Seed 001 (DeblurGAN Keras port, "Image Deblurring using GAN"), Table 4 headline."""

from experiments.entry import Entry, PaperRow

ENTRY = Entry(
    name="table_keras_deblurgan",
    seed="001",
    title="DeblurGAN Keras port, Table 4: mean PSNR / SSIM on GoPro",
    runs=(
        "the Keras-port recipe (model=deblurgan_keras: ResNet-9 with BatchNorm, sigmoid dense "
        "critic, Wasserstein loss without clipping, 100 x VGG16 block3_conv3), then its "
        "checkpoint and the blurred input scored on the GoPro test split"
    ),
    data="GoPro train (256 crops, batch 16, 40 epochs), GoPro test 1,111 frames at 1280x720",
    protocol=(
        "ours: RGB, no border crop, 8-bit, SSIM 2d; the paper does not say how it computed "
        "PSNR / SSIM"
    ),
    paper=(
        PaperRow(
            "deblurgan_keras",
            "This work (Keras port)",
            29.30,
            0.72,
            note="paper's range over test images: PSNR 25.39-32.33, SSIM 0.65-0.77",
        ),
    ),
    configs={"full": "table_keras_deblurgan", "smoke": "table_keras_deblurgan_smoke"},
    roots={"GOPRO": "tables.gopro_root"},
)
