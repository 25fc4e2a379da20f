"""Print the layer tables and parameter counts of a recipe's networks.

    python src/params.py model=deblurgan_keras            # the DeblurGAN Keras port's Tables 2 and 3
    python src/params.py model=convdeconv_gan keras=true  # the ResNet/PatchGAN paper's layer table, Keras counting
    python src/params.py generator=rrdb input_size=32 table=false

Arguments are the train config's overrides, plus: `keras=true` (BatchNorm moving mean and
variance counted, as Keras' model.summary() does), `input_size=N` (default data.crop_size)
and `table=false` (totals only).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from restoregan.cli.errors import user_errors
from restoregan.nets.summary import count_parameters, format_table, layer_table

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
OPTIONS = {"keras": "false", "input_size": None, "table": "true"}


def parse(argv: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """Split this script's own options from the Hydra overrides."""
    options, overrides = dict(OPTIONS), []
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in OPTIONS:
            options[key] = value
        else:
            overrides.append(arg)
    return options, overrides


def report(cfg: DictConfig, *, keras: bool, input_size: int, table: bool) -> str:
    """The layer table and totals of the generator and, for GAN recipes, the discriminator."""
    nets = {"generator": instantiate(cfg.generator)}
    if "discriminator" in cfg.model:
        nets["discriminator"] = instantiate(cfg.discriminator)
    lines = []
    for role, net in nets.items():
        # The discriminator sees target-size images; an SR generator sees inputs 1/scale as large.
        size = input_size if role == "discriminator" else input_size // net.scale
        lines.append(f"== {role}: {type(net).__name__} on 1x3x{size}x{size}")
        if table:
            lines.append(
                format_table(layer_table(net, input_shape=(1, 3, size, size), keras=keras))
            )
        torch_count, keras_count = count_parameters(net), count_parameters(net, keras=True)
        lines.append(
            f"parameters: {torch_count:,} (PyTorch) | {keras_count:,} (Keras counting, BatchNorm moving statistics included)"
        )
        lines.append("")
    return "\n".join(lines)


@user_errors
def main(argv: list[str]) -> None:
    options, overrides = parse(argv)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name="train", overrides=overrides)
    size = int(options["input_size"] or cfg.data.crop_size)
    print(f"# {' '.join(argv) or 'defaults'}")
    print(
        report(
            cfg, keras=options["keras"] == "true", input_size=size, table=options["table"] == "true"
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
