import csv

import pytest
import torch

from conftest import make_image
from depthstyle.errors import DepthStyleError, SettingsError
from depthstyle.io import save_image
from depthstyle.models import load_model
from depthstyle.training.data import ImageFolder, list_images
from depthstyle.training.trainer import TrainConfig, Trainer


@pytest.fixture()
def folders(tmp_path):
    c, s = tmp_path / "content", tmp_path / "style"
    c.mkdir()
    s.mkdir()
    for i in range(4):
        save_image(make_image(40, 56, i), c / f"c{i}.png")
        save_image(make_image(48, 48, 10 + i), s / f"s{i}.jpg")
    (c / "broken.jpg").write_bytes(b"\xff\xd8\xffnot really")
    return c, s


def cfg(folders, tmp_path, **kw):
    c, s = folders
    base = dict(content_dir=str(c), style_dir=str(s), out_dir=str(tmp_path / "run"), size=32,
                batch_size=2, steps=4, widths=(8, 8, 8, 8), lr=1e-3, checkpoint_every=2,
                sample_every=0, seed=1)
    base.update(kw)
    return TrainConfig(**base)


def test_image_folder_skips_and_counts_bad_files(folders):
    c, _ = folders
    data = ImageFolder(c, 32)
    gen = torch.Generator().manual_seed(0)
    for _ in range(6):
        b = data.batch(3, gen)
        assert b.shape == (3, 3, 32, 32) and 0 <= float(b.min()) and float(b.max()) <= 1
    assert data.bad == {data.files.index(c / "broken.jpg")}


def test_empty_or_unreadable_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DepthStyleError, match="no image files"):
        list_images(tmp_path / "empty")
    with pytest.raises(DepthStyleError, match="not a folder"):
        list_images(tmp_path / "nope")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"junk")
    with pytest.raises(DepthStyleError, match="all 1 images"):
        ImageFolder(tmp_path / "bad", 32).batch(1, torch.Generator())


def _optimise(t: Trainer, content, style, steps: int, lr: float = 3e-3) -> list[float]:
    """Total loss of ``steps`` Adam steps of ``t``'s decoder on one fixed batch."""
    opt = torch.optim.Adam(t.decoder.parameters(), lr=lr)
    values = []
    for _ in range(steps):
        loss = t.losses(content, style, 0)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    return values


def test_loss_decreases_on_a_fixed_batch(folders, tmp_path):
    t = Trainer(cfg(folders, tmp_path, mix_fraction=0.0))
    values = _optimise(t, *t.batches(0), steps=15)
    assert values[-1] < 0.7 * values[0], values


def test_resume_restores_step_and_optimizer_exactly(folders, tmp_path):
    straight = Trainer(cfg(folders, tmp_path / "a"))
    straight.run(progress=False)

    first = Trainer(cfg(folders, tmp_path / "b", steps=2))
    first.run(progress=False)
    resumed = Trainer(cfg(folders, tmp_path / "b", steps=4))
    resumed.load_checkpoint(tmp_path / "b" / "run" / "checkpoint.pt")
    assert resumed.step == 2
    for k, v in first.optimizer.state_dict()["state"].items():
        for name, tensor in v.items():
            torch.testing.assert_close(resumed.optimizer.state_dict()["state"][k][name], tensor)
    resumed.step = 0  # run() reloads the checkpoint itself
    resumed.run(progress=False)
    assert resumed.step == 4
    for (k, a), b in zip(straight.decoder.state_dict().items(),
                         resumed.decoder.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)


def test_outputs_log_and_loadable_decoder(folders, tmp_path):
    path = Trainer(cfg(folders, tmp_path, sample_every=2)).run(progress=False)
    model = load_model(path)
    assert model.metadata["steps"] == "4"
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [4]
    assert (tmp_path / "run" / "samples" / "step_0000002.png").exists()


def test_checkpoint_mismatch_is_refused(folders, tmp_path):
    Trainer(cfg(folders, tmp_path, steps=2)).run(progress=False)
    other = Trainer(cfg(folders, tmp_path, steps=3, widths=(8, 8, 8, 4)))
    with pytest.raises(SettingsError, match="widths"):
        other.run(progress=False)


@pytest.mark.parametrize("kw,match", [({"size": 30}, "multiple of 16"),
                                      ({"depth_weight": 1.0}, "depth-model"),
                                      ({"mix_fraction": 1.0}, "mix fraction")])
def test_bad_config(folders, tmp_path, kw, match):
    with pytest.raises(SettingsError, match=match):
        Trainer(cfg(folders, tmp_path, **kw))


def test_depth_loss_term_is_used(folders, tmp_path):
    calls = []

    def fake_depth(img):  # differentiable stand-in: luminance as "depth"
        calls.append(img.shape)
        return img.mean(1, keepdim=True)

    t = Trainer(cfg(folders, tmp_path, depth_weight=0.5, depth_model="x"), depth_fn=fake_depth)
    vals = t.train_step()
    assert vals["depth"] > 0 and calls


def test_skip_decoder_run_with_holdout_pixel_term_and_kind_check(folders, tmp_path):
    import json

    split = tmp_path / "split.json"
    split.write_text(json.dumps({"content": ["c0.png", "c1.png"], "style": ["s0.jpg"]}))
    config = cfg(folders, tmp_path, decoder="skip", skip_width=4, pixel_weight=10.0,
                 mix_fraction=0.5, holdout=str(split))
    t = Trainer(config)
    assert {p.name for p in t.content.files} == {"c2.png", "c3.png", "broken.jpg"}
    assert {p.name for p in t.style.files} == {"s1.jpg", "s2.jpg", "s3.jpg"}
    content, style = t.batches(0)
    terms = t.losses(content, style, 0)
    assert float(terms["pixel"].detach()) > 0  # the a < 1 half is pulled toward the photo
    path = t.run(progress=False)
    model = load_model(path)
    assert type(model.decoder).__name__ == "SkipDecoder"
    # a compact run cannot resume a skip checkpoint
    with pytest.raises(SettingsError, match="decoder"):
        Trainer(cfg(folders, tmp_path, steps=6, holdout=str(split))).run(progress=False)
    # holding everything out is refused
    split.write_text(json.dumps({"content": [f"c{i}.png" for i in range(4)] + ["broken.jpg"],
                                 "style": []}))
    with pytest.raises(DepthStyleError, match="held out"):
        Trainer(config)


def test_gram_loss_against_hand_computed_matrices():
    from depthstyle.training.losses import gram_loss

    # one 2-channel, 2-pixel map per level: G = F F^T / pixels
    a = torch.tensor([[1.0, 3.0], [2.0, 0.0]]).view(1, 2, 1, 2)
    b = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(1, 2, 1, 2)
    ga = torch.tensor([[5.0, 1.0], [1.0, 2.0]])  # [[1+9, 2+0], [2, 4]] / 2
    gb = torch.tensor([[0.5, 0.5], [0.5, 1.0]])
    expected = ((ga - gb) ** 2).mean()
    torch.testing.assert_close(gram_loss([a], [b]), expected)
    torch.testing.assert_close(gram_loss([a, a], [b, a]), expected)  # summed over levels
    assert float(gram_loss([b], [b])) == 0.0
    # the same channel statistics in another arrangement: mean/std equal, Gram not
    c = torch.tensor([[1.0, 3.0], [0.0, 2.0]]).view(1, 2, 1, 2)
    assert float(gram_loss([a], [c])) > 0.5


@pytest.mark.parametrize("term, weight", [("gram", 2.0), ("swd", 3.0), ("patch_swd", 50.0)])
def test_extra_style_term_trains_and_is_logged(folders, tmp_path, term, weight):
    plain = Trainer(cfg(folders, tmp_path / "a", mix_fraction=0.5))
    extra = Trainer(cfg(folders, tmp_path / "b", mix_fraction=0.5, **{f"{term}_weight": weight}))
    content, style = plain.batches(0)
    t_plain = plain.losses(content, style, 0)
    t_extra = extra.losses(content, style, 0)
    assert term not in t_plain and float(t_extra[term].detach()) > 0
    # same seed, same decoder: the totals differ by exactly the weighted term
    torch.testing.assert_close(t_extra["total"], t_plain["total"] + weight * t_extra[term])
    extra.run(progress=False)
    rows = list(csv.DictReader(open(tmp_path / "b" / "run" / "log.csv")))
    assert float(rows[-1][term]) > 0


def test_resumed_log_keeps_its_old_columns(folders, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    old = "step,total,content,style,depth,lr,seconds,pixel\n2,1.0,1.0,0.1,0.0,1e-3,0.1,0.0\n"
    (run / "log.csv").write_text(old)
    Trainer(cfg(folders, tmp_path, steps=2, gram_weight=1.0)).run(progress=False)
    lines = (run / "log.csv").read_text().splitlines()
    assert lines[0] == "step,total,content,style,depth,lr,seconds,pixel"
    assert all(len(line.split(",")) == 8 for line in lines)
    assert len(lines) == 3


def test_distillation_learns_the_teachers_outputs_without_the_loss_network(folders, tmp_path,
                                                                        earlier_releases):
    teacher = load_model("depthstyle-lite0-v3").decoder
    t = Trainer(cfg(folders, tmp_path, decoder="skip", skip_width=4, mix_fraction=0.5,
                    distill_from="depthstyle-lite0-v3", distill_weight=1.0,
                    content_weight=0.0, style_weight=0.0))
    content, style = t.batches(0)
    calls = []
    t.encoder.register_forward_hook(lambda *_: calls.append(1))
    terms = t.losses(content, style, 0)
    # the encoder's forward ran for the style only (the content is restyled stage by stage),
    # never on the output
    assert len(calls) == 1 and set(terms) == {"distill", "total"}
    torch.testing.assert_close(terms["total"], terms["distill"])
    values = _optimise(t, content, style, steps=30)
    assert values[-1] < 0.5 * values[0], values
    assert all(not p.requires_grad for p in t.teacher.parameters())
    assert t.teacher is not teacher  # a copy of its own: nothing shared with other loads


def test_distillation_settings_are_checked(folders, tmp_path, earlier_releases):
    with pytest.raises(SettingsError, match="distill-from"):
        Trainer(cfg(folders, tmp_path, distill_weight=1.0))
    with pytest.raises(SettingsError, match="needs --distill-weight > 0"):
        Trainer(cfg(folders, tmp_path, distill_from="depthstyle-lite0-v3"))
    with pytest.raises(SettingsError, match="teacher decodes lite0 level 2"):
        Trainer(cfg(folders, tmp_path, widths=(8, 8), decode_level=0,
                    distill_from="depthstyle-lite0-v3", distill_weight=1.0))


def test_a_skip_decoder_warm_starts_from_a_wider_one(folders, tmp_path, earlier_releases):
    from depthstyle.models.decoder import narrow_skip_decoder

    v3 = load_model("depthstyle-lite0-v3").decoder
    copy = Trainer(cfg(folders, tmp_path / "a", decoder="skip", widths=tuple(v3.widths),
                       skip_width=v3.skip_width, init_from="depthstyle-lite0-v3"))
    for (k, a), b in zip(copy.decoder.state_dict().items(), v3.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    narrow = Trainer(cfg(folders, tmp_path / "b", decoder="skip", widths=(64, 32, 16, 8),
                         skip_width=16, init_from="depthstyle-lite0-v3"))
    ref = narrow_skip_decoder(v3, (64, 32, 16, 8), 16).state_dict()
    for k, a in narrow.decoder.state_dict().items():
        assert torch.equal(a, ref[k]), k
    with pytest.raises(SettingsError, match="can only narrow"):
        Trainer(cfg(folders, tmp_path / "c", decoder="skip", widths=(256, 64, 32, 16),
                    init_from="depthstyle-lite0-v3"))


def test_sliced_wasserstein_loss_sees_distributions_not_just_moments():
    from depthstyle.training.losses import sliced_wasserstein_loss, style_loss

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 8, 8, generator=g)
    perm = torch.randperm(64, generator=g)
    shuffled = x.flatten(2)[..., perm].view_as(x)  # the same pixels in another arrangement
    assert float(sliced_wasserstein_loss([x], [shuffled])) < 1e-10
    # equal channel mean/std, different distributions: Gaussian against two spikes at +-1
    gauss = torch.randn(1, 4, 16, 16, generator=g)
    gauss = (gauss - gauss.mean((2, 3), keepdim=True)) / gauss.std((2, 3), keepdim=True,
                                                                   unbiased=False)
    spikes = torch.where(torch.rand(1, 4, 16, 16, generator=g) < 0.5, -1.0, 1.0)
    spikes = (spikes - spikes.mean((2, 3), keepdim=True)) / spikes.std((2, 3), keepdim=True,
                                                                       unbiased=False)
    assert float(style_loss([gauss], [spikes])) < 1e-6
    far = float(sliced_wasserstein_loss([gauss], [spikes],
                                        generator=torch.Generator().manual_seed(1)))
    assert far > 0.05
    # hand-computed: one channel, one direction (+-1 after normalising), sorted values compared
    a = torch.tensor([3.0, 1.0, 2.0]).view(1, 1, 1, 3)
    b = torch.tensor([0.0, 2.0, 1.0]).view(1, 1, 1, 3)
    expected = torch.tensor(1.0)  # sorted (1,2,3) against (0,1,2): every quantile off by 1
    torch.testing.assert_close(sliced_wasserstein_loss([a], [b]), expected)
    # the style's quantiles are resampled to the output's pixel count
    c = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]).view(1, 1, 1, 5)
    torch.testing.assert_close(sliced_wasserstein_loss([a], [c]), expected)
    with pytest.raises(ValueError, match="channels"):
        sliced_wasserstein_loss([a], [torch.zeros(1, 2, 1, 3)])
    y = x.clone().requires_grad_(True)
    sliced_wasserstein_loss([y], [gauss[:, :3, :8, :8].expand(2, -1, -1, -1)]).backward()
    assert y.grad is not None and float(y.grad.abs().sum()) > 0


def test_swd_directions_belong_to_the_step(folders, tmp_path):
    swd = Trainer(cfg(folders, tmp_path, mix_fraction=0.5, swd_weight=3.0))
    content, style = swd.batches(0)
    first = swd.losses(content, style, 0)["swd"]
    # a resumed run recomputes the same step with the same random directions
    torch.testing.assert_close(swd.losses(content, style, 0)["swd"], first)
    with pytest.raises(SettingsError, match="loss weights"):
        TrainConfig(content_dir="c", style_dir="s", out_dir="o", swd_weight=-1.0).validate()


def test_patch_features_are_the_images_own_patches_at_each_scale():
    import torch.nn.functional as F

    from depthstyle.training.losses import patch_features

    x = torch.rand(2, 3, 20, 17, generator=torch.Generator().manual_seed(0))
    fine, coarse = patch_features(x, patch=5, scales=2)
    assert fine.shape == (2, 75, 16 * 13, 1) and coarse.shape == (2, 75, 6 * 4, 1)
    torch.testing.assert_close(fine[..., 0], F.unfold(x, 5))
    torch.testing.assert_close(coarse[..., 0], F.unfold(F.avg_pool2d(x, 2), 5))
    # a random subset is a subset of the same columns, the same positions for the whole batch
    sub = patch_features(x, patch=5, scales=1, points=40,
                         generator=torch.Generator().manual_seed(3))[0][..., 0]
    at = torch.randperm(16 * 13, generator=torch.Generator().manual_seed(3))[:40]
    assert sub.shape == (2, 75, 40) and torch.equal(sub, F.unfold(x, 5)[..., at])
    # 'where' draws patches only where the map is > 0: here the left half
    left = torch.zeros(1, 1, 20, 17)
    left[..., :8] = 1.0
    drawn = patch_features(x, patch=5, scales=1, points=300, where=left,
                           generator=torch.Generator().manual_seed(4))[0][..., 0]
    columns = F.unfold(x, 5).view(2, 75, 16, 13)
    allowed = columns[..., :6].flatten(2)  # centres in columns 2..7
    for k in range(0, 300, 37):
        assert (drawn[:, :, k:k + 1] - allowed).abs().amax(1).min(-1).values.max() == 0
    # weight only where no patch is centred (the outer 2 px): drawn at random, as without it
    rim = torch.ones(1, 1, 20, 17)
    rim[..., 2:-2, 2:-2] = 0.0
    assert patch_features(x, patch=5, scales=1, points=40, where=rim)[0].shape == (2, 75, 40, 1)
    with pytest.raises(ValueError, match="where"):
        patch_features(x, where=left)
    with pytest.raises(ValueError, match="too small"):
        patch_features(torch.rand(1, 3, 8, 8), patch=5, scales=2)
    with pytest.raises(ValueError, match=">= 1"):
        patch_features(x, patch=0)


def test_patch_swd_loss_sees_strokes_that_channel_statistics_miss():
    from depthstyle.training.losses import patch_swd_loss, style_loss

    g = torch.Generator().manual_seed(0)
    stripes = torch.zeros(1, 3, 32, 32)
    stripes[..., ::2] = 1.0  # vertical one-pixel strokes
    turned = stripes.transpose(-1, -2)  # the same pixels, horizontal strokes
    shifted = torch.roll(stripes, 1, dims=-1)  # the same strokes elsewhere
    # per-channel statistics cannot tell the orientation apart; the patches can
    assert float(style_loss([stripes], [turned])) < 1e-10
    far = float(patch_swd_loss(stripes, turned, generator=g))
    assert far > 0.01
    assert float(patch_swd_loss(stripes, shifted, scales=1)) < 1e-3 * far
    # a different size of the same texture is close: quantiles are resampled
    wide = torch.zeros(1, 3, 32, 64)
    wide[..., ::2] = 1.0
    assert float(patch_swd_loss(wide, stripes, scales=1)) < 1e-3 * far
    y = torch.rand(1, 3, 32, 32, generator=g).requires_grad_(True)
    patch_swd_loss(y, stripes, points=100, generator=g).backward()
    assert y.grad is not None and float(y.grad.abs().sum()) > 0
