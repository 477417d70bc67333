"""The deep EBM of ebmlab.training.deep: the convolutional energy, the replay buffer, the loop."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import samplers, training

CHAIN = samplers.LangevinConfig(
    steps=2, step_size=1.0, noise_scale=0.01, grad_clip=0.1, bounds=(0.0, 1.0)
)


def test_conv_energy_maps_flat_images_to_energies():
    torch.manual_seed(0)
    model = training.ConvEnergy(8, 4)
    e = model(torch.rand(5, 64))
    assert e.shape == (5,)


def test_conv_energy_is_smooth_enough_for_langevin():
    torch.manual_seed(0)
    model = training.ConvEnergy(8, 4)
    y = torch.rand(4, 64)
    out = samplers.langevin(model, y, CHAIN, seed=0).samples
    assert out.shape == y.shape and bool(((out >= 0) & (out <= 1)).all())


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(1, 30),
    n=st.integers(1, 40),
    reinit=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_replay_sample_keeps_its_share_of_noise_and_the_buffer(size, n, reinit, seed):
    buffer = 5 + torch.rand(size, 3, generator=torch.Generator().manual_seed(seed))
    before = buffer.clone()
    start, idx = training.replay_sample(buffer, n, reinit, 0.0, 1.0, seed=seed)
    k = round(reinit * n)
    assert start.shape == (n, 3) and idx.shape == (n,) and idx.dtype == torch.int64
    assert torch.equal(buffer, before), "the buffer must not change"
    assert bool(((idx >= 0) & (idx < size)).all())
    assert bool((start[:k] <= 1).all()), "the first k rows are fresh noise in [0, 1]"
    assert torch.equal(start[k:], buffer[idx[k:]]), "the others are stored samples"
    again, idx2 = training.replay_sample(buffer, n, reinit, 0.0, 1.0, seed=seed)
    assert torch.equal(again, start) and torch.equal(idx2, idx)


def test_the_buffer_keeps_its_size_and_its_reinitialisation_share():
    buf = training.ReplayBuffer(100, 4, reinit=0.05, low=0.0, high=1.0, seed=0)
    buf.data += 10  # stored samples far from the noise's box
    fresh = 0
    for _ in range(50):
        start, idx = buf.sample(40)
        fresh += int((start <= 1).all(dim=1).sum())
        buf.push(idx, start + 1)
        assert len(buf) == 100 and buf.data.shape == (100, 4)
    assert fresh == 50 * round(0.05 * 40)


def test_fit_deep_ebm_records_both_energies_and_keeps_the_buffer():
    torch.manual_seed(0)
    model = training.ConvEnergy(8, 4)
    Y = torch.rand(32, 64)
    config = training.DeepEBMConfig(steps=3, batch_size=8, buffer_size=20)
    r = training.fit_deep_ebm(model, Y, sampler=CHAIN, config=config)
    assert set(r.history) == {"loss", "energy_data", "energy_samples"}
    assert r.history.loss.shape == (3,) and r.samples.shape == (20, 64)
    none = training.DeepEBMConfig(steps=2, batch_size=8, buffer_size=0, clip_grad=None)
    r = training.fit_deep_ebm(model, Y, sampler=CHAIN, config=none)
    assert r.samples.shape == (8, 64)


def test_fit_deep_ebm_loss_is_the_cd_loss_of_its_energies():
    torch.manual_seed(0)
    model = training.ConvEnergy(8, 4)
    config = training.DeepEBMConfig(steps=1, batch_size=64, alpha=0.5)
    r = training.fit_deep_ebm(model, torch.rand(64, 64), sampler=CHAIN, config=config)
    h = r.history
    assert h.loss[0].item() >= (h.energy_data[0] - h.energy_samples[0]).item() - 1e-6


def test_clipping_bounds_the_gradient_norm():
    torch.manual_seed(0)
    model = training.ConvEnergy(8, 4)
    seen = []
    for p in model.parameters():
        p.register_hook(lambda g: seen.append(g) or g)
    config = training.DeepEBMConfig(steps=1, batch_size=16, clip_grad=1e-3, alpha=10.0)
    training.fit_deep_ebm(model, torch.rand(16, 64), sampler=CHAIN, config=config)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert norm.item() <= 1e-3 * (1 + 1e-4)


def test_bad_input_is_named():
    buffer = torch.rand(4, 2)
    with pytest.raises(ValueError, match="buffer"):
        training.replay_sample(torch.zeros(0, 2), 3)
    with pytest.raises(ValueError, match="buffer"):
        training.replay_sample(torch.zeros(4), 3)
    with pytest.raises(ValueError, match="reinit"):
        training.replay_sample(buffer, 3, reinit=1.5)
    with pytest.raises(ValueError, match="high"):
        training.replay_sample(buffer, 3, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="n"):
        training.replay_sample(buffer, 0)
    with pytest.raises(ValueError, match="size"):
        training.ReplayBuffer(0, 2)
    with pytest.raises(ValueError, match="samples"):
        training.ReplayBuffer(4, 2).push(torch.tensor([0, 1]), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="y"):
        training.ConvEnergy(8)(torch.zeros(2, 63))
    with pytest.raises(ValueError, match="buffer_size"):
        training.DeepEBMConfig(buffer_size=-1)
    with pytest.raises(ValueError, match="alpha"):
        training.DeepEBMConfig(alpha=-1.0)
    with pytest.raises(ValueError, match="clip_grad"):
        training.DeepEBMConfig(clip_grad=0.0)
    model = training.ConvEnergy(8, 2)
    with pytest.raises(ValueError, match="bounds"):
        training.fit_deep_ebm(model, torch.rand(4, 64), sampler=samplers.LangevinConfig(steps=1))
    with pytest.raises(TypeError, match="config"):
        training.fit_deep_ebm(model, torch.rand(4, 64), config=training.TrainConfig())
    with pytest.raises(TypeError, match="model"):
        training.fit_deep_ebm(lambda y: y.sum(1), torch.rand(4, 64))
    with pytest.raises(ValueError, match="Y"):
        training.fit_deep_ebm(model, torch.rand(64))
