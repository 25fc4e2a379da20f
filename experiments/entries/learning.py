"""The learning table: does each deblurring recipe learn at all, at one fixed CPU budget?

Not a paper's table (no paper column): a measurement of this suite. Every deblurring
recipe trains for the same wall-clock budget on the embedded demo photographs and is
scored on the held-out ones against the blurred input and the classical baselines.
"""

from experiments.entry import Entry

ENTRY = Entry(
    name="learning",
    seed="000-003 (every deblurring recipe)",
    title="Learning table: every deblurring recipe at one fixed CPU budget on the demo photos",
    runs=(
        "deblurgan, deblurgan_keras, unet_patchgan, resnet_patchgan, convdeconv_gan, "
        "cnn_baseline and dualgan_deblur, each trained for the same budget of iterations "
        "(learning.epochs; the seconds each took are noted) at reduced widths on the same "
        "data; then the last checkpoint of each, the "
        "blurred input and the classical baselines (non-local means; Wiener and "
        "Richardson-Lucy given the true kernel, an upper bound) scored on the held-out photos; "
        "curves.png: validation PSNR / SSIM against iterations, the input dashed. "
        "Departures from the recipes (conf/experiment/learning.yaml says why): random VGG "
        "weights (offline); DeblurGAN 2018 with the quickstart's identity start, + 1000 x L1 "
        "and lr 3e-5; the Keras port + 1000 x L1 (random VGG features do not measure fidelity)"
    ),
    data=(
        "the embedded demo set: 7 photographs (scikit-image / scikit-learn) x 4 camera-shake "
        "kernels to train, coffee and flower (never trained on) x 2 kernels to score"
    ),
    protocol=(
        "RGB, no border crop, 8-bit, SSIM 2d. The validation curve is on the held-out photos; "
        "the table scores the last checkpoint, so no number was selected on them"
    ),
    paper=(),
    configs={"full": "learning", "smoke": "learning_smoke"},
    kind="learning",
)
