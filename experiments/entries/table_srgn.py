"""Seed 004 (SR-GN, "Blur Removal in Natural Digital Images Using Self-Reference Generative
Networks"), Table 1: SR-GN against DeblurGAN (its Ref [11]) on partially blurred images.

This table has another shape than the others (blur type x metric x {reference part,
complete image}), so its plan is not a `multistage:` node but a `srgn_table:` node, run by
`experiments.srgn_table` with the region protocol. The paper rows below are its numbers as
printed; `tests/experiments/test_registry.py` checks them against the seed text and against
the `srgn_table.paper` node of the configs, which the results table reads.
"""

from experiments.entry import Entry, PaperRow

_PAPER = {
    # method: {blur: (PSNR reference, PSNR complete, SSIM reference, SSIM complete)}
    "srgn": {"gaussian": (36.17, 29.27, 0.998, 0.992), "motion": (33.89, 27.18, 0.991, 0.988)},
    "deblurgan": {"gaussian": (33.42, 31.68, 0.991, 0.988), "motion": (31.27, 29.41, 0.986, 0.982)},
}
_LABELS = {"srgn": "SR-GN", "deblurgan": "DeblurGAN (Ref [11])"}

ENTRY = Entry(
    name="table_srgn",
    seed="004",
    title="SR-GN, Table 1: PSNR / SSIM of the reference part and the complete image",
    runs=(
        "SR-GN (model=srgn) and DeblurGAN (model=deblurgan) trained on partial blur for each "
        "blur type (data.kernel=gaussian|motion), each checkpoint scored with the region protocol"
    ),
    data=(
        "GoPro sharp frames with synthetic partial blur (data=partial_blur data.source=gopro): "
        "Gaussian 70x70 kernels or camera-shake trajectories on 20-60 % of each image"
    ),
    protocol=(
        "local-deblur: RGB, 8-bit; reference part = the clear pixels (mask < 0.5), PSNR from "
        "their MSE, SSIM the mean of the SSIM map over them; complete = the whole image. The "
        "paper does not say how it scored the parts"
    ),
    paper=tuple(
        PaperRow(method, f"{_LABELS[method]}, {blur}, {part}", psnr, ssim)
        for method, blurs in _PAPER.items()
        for blur, (p_ref, p_all, s_ref, s_all) in blurs.items()
        for part, psnr, ssim in (("reference", p_ref, s_ref), ("complete", p_all, s_all))
    ),
    configs={"full": "srgn_table1", "smoke": "srgn_table1_smoke"},
    roots={"GOPRO": "srgn_table.gopro_root"},
    full_overrides=("srgn_table.trainer=gpu",),
    kind="srgn",
)


def paper_numbers() -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """The rows above in the shape of the configs' `srgn_table.paper` node."""
    return {
        method: {
            blur: {
                "psnr": {"reference": p_ref, "complete": p_all},
                "ssim": {"reference": s_ref, "complete": s_all},
            }
            for blur, (p_ref, p_all, s_ref, s_all) in blurs.items()
        }
        for method, blurs in _PAPER.items()
    }
