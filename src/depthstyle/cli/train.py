"""``depthstyle train``: a decoder, or the learned strength module."""

from __future__ import annotations

import argparse

from depthstyle.cli.common import (
    EXIT_OK,
    add_common,
    nonneg_float,
    positive_int,
    resolve_device,
)

# --- train -------------------------------------------------------------------------------------

def _cmd_train(args: argparse.Namespace) -> int:
    from depthstyle.training.trainer import TrainConfig, Trainer

    if args.learn_strength:
        return _train_strength(args)
    cfg = TrainConfig(
        content_dir=args.content_dir, style_dir=args.style_dir, out_dir=args.output,
        encoder=args.encoder, encoder_seed=args.encoder_seed,
        widths=tuple(int(w) for w in args.widths) if args.widths else None,
        size=args.size, batch_size=args.batch_size, steps=args.steps,
        lr=args.lr if args.lr is not None else 1e-4,
        lr_decay=args.lr_decay if args.lr_decay is not None else 5e-5,
        style_weight=args.style_weight, mix_fraction=args.mix_fraction,
        depth_weight=args.depth_weight, depth_model=args.depth_model, seed=args.seed,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
        max_minutes=args.max_minutes, device=str(resolve_device(args.device)),
        amp=not args.no_amp, decoder=args.decoder, skip_width=args.skip_width,
        pixel_weight=args.pixel_weight, mix_style=args.mix_style, gram_weight=args.gram_weight,
        swd_weight=args.swd_weight, patch_swd_weight=args.patch_swd_weight,
        content_weight=1.0 if args.content_weight is None else args.content_weight,
        distill_from=args.distill_from, distill_weight=args.distill_weight,
        holdout=args.holdout,
        init_from=args.init_from)
    path = Trainer(cfg).run(progress=not args.quiet)
    print(path)
    return EXIT_OK


def _train_strength(args: argparse.Namespace) -> int:
    from depthstyle.training.strength_trainer import StrengthTrainConfig, StrengthTrainer

    cfg = StrengthTrainConfig(
        content_dir=args.content_dir, style_dir=args.style_dir, out_dir=args.output,
        base_model=args.model, groups=args.strength_groups, hidden=args.strength_hidden,
        size=args.size, batch_size=args.batch_size, steps=args.steps,
        lr=args.lr if args.lr is not None else 1e-3,
        lr_decay=args.lr_decay if args.lr_decay is not None else 0.0,
        content_weight=10.0 if args.content_weight is None else args.content_weight,
        style_weight=args.style_weight,
        depth_weight=args.depth_weight, depth_model=args.depth_model, seed=args.seed,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
        max_minutes=args.max_minutes, device=str(resolve_device(args.device)))
    path = StrengthTrainer(cfg).run(progress=not args.quiet)
    print(path)
    return EXIT_OK


def add_parser(sub) -> None:
    """Add the ``train`` subcommand."""
    from depthstyle.models import ENCODERS

    p = sub.add_parser(
        "train", help="train a decoder (or the learned strength module) on your own images",
        description="Train an AdaIN decoder (content + mean/std style loss, optional "
                    "depth-preservation loss), or with --learn-strength the learned strength "
                    "module of a trained model (docs/method.md). Resumes automatically from "
                    "OUTPUT/checkpoint.pt.",
        epilog="examples:\n  depthstyle train photos/ paintings/ -o runs/mine --steps 20000\n"
               "  depthstyle stylize x.jpg -s y.jpg --model runs/mine/decoder.safetensors -o o.png"
               "\n  depthstyle train photos/ paintings/ -o runs/strength --learn-strength "
               "--steps 1500\n  depthstyle stylize x.jpg -s y.jpg --depth d.png --strength "
               "learned --model runs/strength/model.safetensors -o o.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content_dir", help="folder of content photos (searched recursively)")
    p.add_argument("style_dir", help="folder of style images (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="run folder (checkpoints, log, samples)")
    p.add_argument("--encoder", choices=ENCODERS, default="lite0",
                   help="frozen encoder (default: %(default)s, the bundled models')")
    p.add_argument("--encoder-seed", type=int, default=0, help="seed of random-vgg19")
    p.add_argument("--widths", type=lambda t: t.split(","), default=None, metavar="W1,W2,...",
                   help="decoder channels per scale, deepest first")
    p.add_argument("--decoder", choices=("compact", "skip"), default="compact",
                   help="compact: decodes the deepest tap only (model v1); skip: also reads "
                        "every shallower tap, restyled the same way (model v2)")
    p.add_argument("--skip-width", type=positive_int, default=32,
                   help="channels of each skip projection (--decoder skip; default: 32)")
    p.add_argument("--pixel-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="weight of the (1 - strength)^2-weighted L1 to the photo on the partly "
                        "stylized share (teaches 'strength 0 gives the photo back'; v2: 10)")
    p.add_argument("--mix-style", type=nonneg_float, default=0.0, metavar="W",
                   help="style loss on the partly stylized share against statistics "
                        "interpolated between photo and style by the sample's strength, times W "
                        "(keeps intermediate strengths textured; v3: 1)")
    p.add_argument("--gram-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="Gram-matrix style loss (channel co-occurrence, Gatys et al.) on the "
                        "fully stylized share, times W: texture beyond the mean/std "
                        "(default: 0, off)")
    p.add_argument("--swd-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="sliced Wasserstein style loss (the whole distribution of the loss "
                        "network's features along random directions, Heitz et al. 2021) on the "
                        "fully stylized share, times W (default: 0, off)")
    p.add_argument("--patch-swd-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="sliced Wasserstein loss between the output's and the painting's own "
                        "5x5 pixel patches at three scales (brushwork in pixels, no network) "
                        "on the fully stylized share, times W (default: 0, off)")
    p.add_argument("--distill-from", default=None, metavar="NAME|FILE",
                   help="a trained model whose decoder this one learns to imitate: an L1 term "
                        "between the two outputs for the same restyled features and strength "
                        "(a narrower, faster decoder from the bundled one); with "
                        "--content-weight 0 --style-weight 0 the loss network is skipped")
    p.add_argument("--distill-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="weight of the --distill-from term (e.g. 10)")
    p.add_argument("--init-from", default=None, metavar="NAME|FILE",
                   help="warm-start the decoder from a trained model's (v2 started from v1: "
                        "its trunk is copied, the skip inputs start at zero)")
    p.add_argument("--holdout", default=None, metavar="SPLIT.json",
                   help="JSON with 'content' and 'style' file names never to train on "
                        "(the validation split, e.g. benchmarks/validation-split.json)")
    p.add_argument("--size", type=positive_int, default=256, help="crop size (default: 256)")
    p.add_argument("--batch-size", type=positive_int, default=8,
                   help="crops per step (default: %(default)s)")
    p.add_argument("--steps", type=positive_int, default=10_000,
                   help="train until this step (a resumed run counts on; default: %(default)s)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: 1e-4 for a decoder, 1e-3 for --learn-strength)")
    p.add_argument("--lr-decay", type=float, default=None,
                   help="lr / (1 + decay * step) (default: 5e-5 for a decoder, 0 for "
                        "--learn-strength)")
    p.add_argument("--content-weight", type=nonneg_float, default=None, metavar="W",
                   help="weight of the content loss (default: 1 for a decoder; 10 for "
                        "--learn-strength, where it is proximity-weighted)")
    p.add_argument("--style-weight", type=float, default=10.0,
                   help="weight of the mean/std style loss (default: %(default)s)")
    p.add_argument("--mix-fraction", type=float, default=0.25,
                   help="share of each batch trained on partly stylized features")
    p.add_argument("--depth-weight", type=float, default=0.0,
                   help="weight of the depth-preservation loss (needs --depth-model)")
    p.add_argument("--depth-model", default=None, help="differentiable depth model (ID or DIR)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds initialisation and every batch (default: %(default)s)")
    p.add_argument("--checkpoint-every", type=positive_int, default=250,
                   help="steps between checkpoints (default: %(default)s)")
    p.add_argument("--sample-every", type=int, default=500, help="0 = no sample grids")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after")
    p.add_argument("--device", default="auto",
                   help="auto, cpu, cuda, cuda:N or mps (default: %(default)s)")
    p.add_argument("--no-amp", action="store_true", help="disable bfloat16 autocast on CUDA")
    g = p.add_argument_group("learned strength (--learn-strength)")
    g.add_argument("--learn-strength", action="store_true",
                   help="train the learned strength module of --model (encoder and decoder "
                        "frozen) instead of a decoder; writes OUTPUT/model.safetensors")
    g.add_argument("--model", default="depthstyle-lite0", metavar="NAME|FILE",
                   help="the model whose strength module is trained (default: %(default)s)")
    g.add_argument("--strength-groups", type=positive_int, default=1, metavar="G",
                   help="channel groups per level, each with its own map (default: 1)")
    g.add_argument("--strength-hidden", type=positive_int, default=32, metavar="N",
                   help="width of the module's MLP (default: 32)")
    add_common(p)
    p.set_defaults(func=_cmd_train)
