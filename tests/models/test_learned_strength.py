"""Learned strength module: starts as the hand-set transform, saves with the model, trains."""

from __future__ import annotations

import pytest
import torch

from conftest import make_image
from depthstyle.errors import SettingsError, WeightsError
from depthstyle.models import StyleModel, load_model, save_decoder
from depthstyle.models.strength_net import StrengthNet
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.strength import strength_from_proximity


@pytest.fixture()
def learned_model(tiny_model) -> StyleModel:
    tiny_model.strength_net = StrengthNet(3, groups=4)
    return tiny_model


def smooth_proximity(h=48, w=64, seed=0):
    return make_image(h, w, seed)[:, :1]


@pytest.mark.parametrize("kw", [{}, {"alpha": 0.6}, {"invert": True, "contrast": 3.0},
                                {"offset": 0.5, "alpha": 0.3}])
def test_untrained_module_equals_the_hand_set_transform(learned_model, kw):
    st = Stylizer(learned_model, device="cpu")
    content, style, prox = make_image(48, 64, 1), make_image(40, 40, 2), smooth_proximity()
    hand = st(content, style, StyleSettings(**kw), depth=prox)
    learned = st(content, style, StyleSettings(learned_strength=True, **kw), depth=prox)
    assert torch.equal(hand.image, learned.image)
    assert torch.equal(hand.strength, learned.strength)


def test_module_maps_shape_range_and_levels():
    net = StrengthNet(3, groups=2, init_levels=(0, 2))
    prox = smooth_proximity(16, 20)
    stats = [(torch.rand(2, c, 1, 1), torch.rand(2, c, 1, 1) + 0.1) for c in (4, 6, 8)]
    with torch.no_grad():
        net.mlp[2].bias.uniform_(-2, 2)  # a trained-looking module
    maps = net(prox.expand(2, -1, -1, -1), stats, stats, offset=0.2, contrast=10, alpha=0.8)
    assert [m.shape for m in maps] == [(2, 2, 16, 20)] * 3
    assert all(0 <= m.min() and m.max() <= 0.8 + 1e-6 for m in maps)
    fresh = StrengthNet(3, init_levels=(0, 2))
    one = [(m[:1], sd[:1]) for m, sd in stats]
    maps = fresh(prox, one, one, offset=0.2, contrast=10)
    hand = strength_from_proximity(prox, 0.2, 10)
    assert torch.equal(maps[0], hand) and torch.equal(maps[2], hand)
    assert maps[1].abs().max() == 0  # not an initial level: no style there at the start
    with pytest.raises(ValueError):
        StrengthNet(3, init_levels=(3,))


def test_saved_with_the_model_and_loaded(tmp_path, lite0):
    from depthstyle.models import build_decoder

    torch.manual_seed(0)
    dec = build_decoder(lite0, (8, 8, 8, 8))
    net = StrengthNet(3, groups=4)
    with torch.no_grad():
        net.mlp[2].bias.normal_()
    path = save_decoder(dec, tmp_path / "m.safetensors", encoder=lite0, widths=(8, 8, 8, 8),
                        decode_level=2, strength_net=net)
    model = load_model(path)
    assert model.strength_net is not None and model.strength_net.groups == 4
    for a, b in zip(net.state_dict().values(), model.strength_net.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    # a file without the module loads without one; asking for learned strength then fails clearly
    plain = save_decoder(dec, tmp_path / "p.safetensors", encoder=lite0, widths=(8, 8, 8, 8),
                         decode_level=2)
    st = Stylizer(load_model(plain), device="cpu")
    assert not st.has_learned_strength
    with pytest.raises(SettingsError, match="no learned strength module"):
        st(make_image(32, 32), make_image(32, 32, 1), StyleSettings(learned_strength=True))
    # a corrupt module (wrong keys) is named
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    tensors.pop("strength.mlp.0.bias")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=meta)
    with pytest.raises(WeightsError, match="strength module.*missing keys: mlp.0.bias"):
        load_model(tmp_path / "bad.safetensors")


def test_learned_refuses_levels_masks_and_given_strength(learned_model):
    st = Stylizer(learned_model, device="cpu")
    c, s = make_image(32, 32), make_image(32, 32, 1)
    with pytest.raises(SettingsError, match="levels"):
        st(c, s, StyleSettings(learned_strength=True, levels=(1,)))
    with pytest.raises(SettingsError, match="given strength"):
        st(c, s, StyleSettings(learned_strength=True), strength=torch.ones(1, 1, 32, 32))
    with pytest.raises(SettingsError, match="masks"):
        st(c, [s, s], StyleSettings(learned_strength=True), masks=torch.ones(1, 2, 32, 32))


def test_training_moves_the_module_and_resumes(tmp_path, tiny_decoder_file, monkeypatch):
    from depthstyle.io import save_image
    from depthstyle.training.strength_trainer import StrengthTrainConfig, StrengthTrainer

    for folder, seed in (("c", 0), ("s", 10)):
        for i in range(3):
            save_image(make_image(64, 64, seed + i), tmp_path / folder / f"{i}.png")
    cfg = StrengthTrainConfig(str(tmp_path / "c"), str(tmp_path / "s"), str(tmp_path / "run"),
                              base_model=str(tiny_decoder_file), groups=4, size=32,
                              batch_size=2, steps=4, checkpoint_every=2, sample_every=0)
    trainer = StrengthTrainer(cfg)
    first = trainer.losses(*trainer.batches(0), 0)
    assert set(first) >= {"content", "style", "total"}
    out = trainer.run(progress=False)
    model = load_model(out)
    assert model.strength_net is not None
    moved = model.strength_net.mlp[2].weight.abs().sum()
    assert moved > 0  # no longer the zero-initialised (hand-set) module
    # resuming to more steps continues from the checkpoint, not from scratch
    cfg2 = StrengthTrainConfig(**{**cfg.__dict__, "steps": 6})
    t2 = StrengthTrainer(cfg2)
    t2.load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert t2.step == 4
    t2.run(progress=False)
    assert t2.step == 6
    bad = StrengthTrainConfig(**{**cfg.__dict__, "groups": 5})
    with pytest.raises(SettingsError, match="groups"):
        StrengthTrainer(bad)


def test_cli_strength_option(tmp_path, image_files, tiny_decoder_file):
    from depthstyle.cli import main

    content, style = image_files
    out = tmp_path / "o.png"
    args = ["stylize", str(content), "-s", str(style), "-o", str(out), "-q", "--model",
            str(tiny_decoder_file)]
    assert main(args + ["--strength", "learned"]) == 2  # this model has no module
    assert main(args + ["--strength", "uniform"]) == 0 and out.exists()
