"""Tests for ebmlab.ssl: augmentations, NT-Xent, PIRL's NCE and memory bank, MoCo, evaluation."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from ebmlab import ssl
from ebmlab.base import History
from ebmlab.bench import ssl as bench_ssl
from ebmlab.data import digits
from ebmlab.exercises import ch08


@pytest.fixture(autouse=True)
def _one_thread():
    # the tensors here are tiny: one thread is as fast and does not fight for shared cores
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- NT-Xent ----------------------------------------------------------------------------------
def _nt_xent_by_hand(z1, z2, tau):
    """The loss written term by term from its definition, with Python loops."""
    u = torch.cat([z1, z2]).double()
    u = u / u.norm(dim=1, keepdim=True)
    n2 = u.shape[0]
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        p = i + n if i < n else i - n
        num = math.exp(float(u[i] @ u[p]) / tau)
        den = sum(math.exp(float(u[i] @ u[j]) / tau) for j in range(n2) if j != i)
        total += -math.log(num / den)
    return total / n2


@given(st.integers(2, 7), st.integers(1, 6), st.floats(0.1, 2.0), st.integers(0, 10_000))
def test_nt_xent_equals_hand_built_cross_entropy(n, d, tau, seed):
    z1, z2 = _rand(n, d, seed=seed), _rand(n, d, seed=seed + 1)
    assert ssl.nt_xent(z1, z2, tau).item() == pytest.approx(_nt_xent_by_hand(z1, z2, tau), rel=1e-4)


def test_nt_xent_equals_cross_entropy_over_masked_similarity_matrix():
    z1, z2 = _rand(5, 3), _rand(5, 3, seed=1)
    u = F.normalize(torch.cat([z1, z2]), dim=1)
    S = u @ u.T / 0.3
    S.fill_diagonal_(-1e9)
    target = torch.tensor([5, 6, 7, 8, 9, 0, 1, 2, 3, 4])
    assert torch.allclose(ssl.nt_xent(z1, z2, 0.3), F.cross_entropy(S, target), atol=1e-6)


def test_nt_xent_cosine_ignores_lengths_l2_does_not():
    z1, z2 = _rand(6, 4), _rand(6, 4, seed=1)
    scale = torch.rand(6, 1) * 5 + 0.1
    assert torch.allclose(ssl.nt_xent(z1 * scale, z2, 0.5), ssl.nt_xent(z1, z2, 0.5), atol=1e-5)
    # with the L2 energy, stretching every vector changes the loss: the model can "cheat"
    l2 = ssl.nt_xent(z1, z1 + 0.1 * z2, 0.5, similarity="l2")
    l2_big = ssl.nt_xent(10 * z1, 10 * (z1 + 0.1 * z2), 0.5, similarity="l2")
    assert l2 > 0.01 and l2_big < 0.01 * l2


def test_nt_xent_is_lower_for_aligned_pairs_and_bounded_by_log():
    z = _rand(8, 16)
    aligned = ssl.nt_xent(z, z + 0.01 * _rand(8, 16, seed=3), 0.1)
    random = ssl.nt_xent(z, _rand(8, 16, seed=4), 0.1)
    assert aligned < random
    # identical embeddings for every image: all similarities equal, loss = log(2N - 1)
    same = torch.ones(8, 4)
    assert ssl.nt_xent(same, same, 0.5).item() == pytest.approx(math.log(15), rel=1e-6)


def test_nt_xent_is_stable_at_small_temperature_and_differentiable():
    z1 = _rand(4, 3).requires_grad_(True)
    loss = ssl.nt_xent(z1, z1.detach() + 0.01, 0.005)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()


def test_nt_xent_bad_inputs():
    z = _rand(4, 3)
    with pytest.raises(ValueError, match="z2"):
        ssl.nt_xent(z, _rand(5, 3))
    with pytest.raises(ValueError, match="z2"):
        ssl.nt_xent(z, _rand(4, 2))
    with pytest.raises(ValueError, match="tau"):
        ssl.nt_xent(z, z, 0.0)
    with pytest.raises(ValueError, match="tau"):
        ssl.nt_xent(z, z, -1.0)
    with pytest.raises(ValueError, match="z1"):
        ssl.nt_xent(torch.empty(0, 3), torch.empty(0, 3))
    with pytest.raises(ValueError, match="z1"):
        ssl.nt_xent(_rand(1, 3), _rand(1, 3))
    with pytest.raises(ValueError, match="z1"):
        ssl.nt_xent(_rand(4), _rand(4))
    with pytest.raises(ValueError, match="similarity"):
        ssl.nt_xent(z, z, 0.5, similarity="dot")
    with pytest.raises(ValueError, match="reduction"):
        ssl.nt_xent(z, z, 0.5, reduction="max")
    with pytest.raises(TypeError, match="z1"):
        ssl.nt_xent("a", z)


def test_similarity_matrix():
    a, b = torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert torch.allclose(ssl.similarity_matrix(a, b), torch.tensor([[0.6, 0.8]]))
    assert torch.allclose(ssl.similarity_matrix(a, b, "l2"), torch.tensor([[-20.0, -13.0]]))
    with pytest.raises(ValueError, match="b"):
        ssl.similarity_matrix(a, torch.ones(2, 3))


# --- PIRL -------------------------------------------------------------------------------------
def test_pirl_nce_on_a_hand_built_case():
    # unit vectors in 2-D with known cosines; tau = 0.5
    q = torch.tensor([[1.0, 0.0]])  # g(v_It)
    p = torch.tensor([[0.6, 0.8]])  # f(v_I): s = 0.6
    n = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # negatives: s = 0 and s = -1
    tau = 0.5
    Z = math.exp(0 / tau) + math.exp(-1 / tau)
    h_pos = math.exp(0.6 / tau) / (math.exp(0.6 / tau) + Z)
    h_n1 = math.exp(0 / tau) / (math.exp(0 / tau) + Z)
    h_n2 = math.exp(-1 / tau) / (math.exp(-1 / tau) + Z)
    expected = -math.log(h_pos) - math.log(1 - h_n1) - math.log(1 - h_n2)
    assert ssl.pirl_nce(q, p, n, tau).item() == pytest.approx(expected, rel=1e-6)
    assert ssl.pirl_h(q, p, n, tau).item() == pytest.approx(h_pos, rel=1e-6)
    # lengths do not matter (cosine similarity)
    assert ssl.pirl_nce(3 * q, 0.5 * p, 7 * n, tau).item() == pytest.approx(expected, rel=1e-6)


@given(st.integers(1, 5), st.integers(1, 6), st.integers(2, 5), st.integers(0, 10_000))
def test_pirl_shared_negatives_equal_per_row_copies_and_h_in_unit_interval(b, k, d, seed):
    q, p, n = _rand(b, d, seed=seed), _rand(b, d, seed=seed + 1), _rand(k, d, seed=seed + 2)
    shared = ssl.pirl_nce(q, p, n, 0.2)
    rows = ssl.pirl_nce(q, p, n.expand(b, k, d), 0.2)
    assert torch.allclose(shared, rows, rtol=1e-5, atol=1e-6)
    h = ssl.pirl_h(q, p, n, 0.2)
    assert ((h > 0) & (h < 1)).all()
    assert shared > 0


def test_pirl_nce_is_stable_at_small_temperature():
    q = _rand(3, 4)
    assert torch.isfinite(ssl.pirl_nce(q, q, _rand(5, 4, seed=2), 0.001))


def test_pirl_bad_inputs():
    q = _rand(3, 4)
    with pytest.raises(ValueError, match="positive"):
        ssl.pirl_nce(q, _rand(2, 4), _rand(5, 4))
    with pytest.raises(ValueError, match="negatives"):
        ssl.pirl_nce(q, q, _rand(5, 3))
    with pytest.raises(ValueError, match="negatives"):
        ssl.pirl_nce(q, q, _rand(2, 5, 4))
    with pytest.raises(ValueError, match="tau"):
        ssl.pirl_nce(q, q, _rand(5, 4), 0)
    with pytest.raises(ValueError, match="query"):
        ssl.pirl_h(torch.empty(0, 4), torch.empty(0, 4), _rand(5, 4))


def test_memory_update_formula():
    bank = F.normalize(_rand(6, 3), dim=1)
    idx = torch.tensor([1, 4])
    v = _rand(2, 3, seed=5)
    out = ssl.memory_update(bank, idx, v, 0.7)
    mix = 0.7 * bank[idx] + 0.3 * v
    assert torch.allclose(out[idx], mix / mix.norm(dim=1, keepdim=True))
    keep = torch.tensor([0, 2, 3, 5])
    assert torch.equal(out[keep], bank[keep])
    assert torch.allclose(out.norm(dim=1), torch.ones(6))
    assert torch.allclose(ssl.memory_update(bank, idx, v, 0.0)[idx], F.normalize(v, dim=1))
    assert torch.allclose(ssl.memory_update(bank, idx, v, 1.0), bank)
    assert not torch.equal(out, bank)  # a new tensor; the input is unchanged:
    assert torch.allclose(bank.norm(dim=1), torch.ones(6))


def test_memory_update_bad_inputs():
    bank = _rand(6, 3)
    with pytest.raises(ValueError, match="values"):
        ssl.memory_update(bank, torch.tensor([0, 1]), _rand(3, 3))
    with pytest.raises(ValueError, match="index"):
        ssl.memory_update(bank, torch.tensor([6]), _rand(1, 3))
    with pytest.raises(TypeError, match="index"):
        ssl.memory_update(bank, torch.tensor([0.0]), _rand(1, 3))
    with pytest.raises(ValueError, match="momentum"):
        ssl.memory_update(bank, torch.tensor([0]), _rand(1, 3), 1.5)


def test_memory_bank_sample_excludes_the_image_itself():
    mb = ssl.MemoryBank(5, 3, seed=0)
    mb.bank.copy_(torch.arange(5.0)[:, None].expand(5, 3))  # row i is filled with i
    idx = torch.tensor([0, 3, 4])
    neg = mb.sample(idx, 200, torch.Generator().manual_seed(0))
    assert neg.shape == (3, 200, 3)
    for r, i in enumerate(idx.tolist()):
        drawn = set(neg[r, :, 0].long().tolist())
        assert i not in drawn and drawn == set(range(5)) - {i}


# --- MoCo -------------------------------------------------------------------------------------
def test_moco_loss_equals_cross_entropy_with_positive_first():
    q, k, queue = _rand(4, 3), _rand(4, 3, seed=1), _rand(6, 3, seed=2)
    qn, kn, nn_ = (F.normalize(t, dim=1) for t in (q, k, queue))
    by_hand = 0.0
    for b in range(4):
        pos = math.exp(float(qn[b] @ kn[b]) / 0.2)
        neg = sum(math.exp(float(qn[b] @ nn_[j]) / 0.2) for j in range(6))
        by_hand += -math.log(pos / (pos + neg)) / 4
    assert ssl.moco_loss(q, k, queue, 0.2).item() == pytest.approx(by_hand, rel=1e-5)
    with pytest.raises(ValueError, match="key"):
        ssl.moco_loss(q, _rand(3, 3), queue)
    with pytest.raises(ValueError, match="queue"):
        ssl.moco_loss(q, k, _rand(6, 2))
    with pytest.raises(ValueError, match="tau"):
        ssl.moco_loss(q, k, queue, -0.1)


def test_momentum_update_formula():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    w_a, w_b = a.weight.detach().clone(), b.weight.detach().clone()
    ssl.momentum_update(a, b, 0.9)
    assert torch.allclose(a.weight, 0.9 * w_a + 0.1 * w_b)
    ssl.momentum_update(a, b, 0.0)
    assert torch.equal(a.weight, b.weight)
    with pytest.raises(ValueError, match="momentum"):
        ssl.momentum_update(a, b, 2.0)
    with pytest.raises(ValueError, match="target"):
        ssl.momentum_update(torch.nn.Linear(2, 2), b)
    with pytest.raises(TypeError, match="target"):
        ssl.momentum_update("a", b)


def test_moco_queue_is_first_in_first_out():
    torch.manual_seed(0)
    m = ssl.MoCo(ssl.ConvEncoder(width=4, out_dim=8), proj_dim=4, queue_size=5)
    x = torch.rand(3, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    m.loss(x, torch.arange(3), g)
    keys = m._keys.clone()
    m.after_step()
    assert torch.allclose(m.queue[:3], keys) and m.ptr == 3
    m.loss(x, torch.arange(3), g)
    keys2 = m._keys.clone()
    m.after_step()
    assert torch.allclose(m.queue[3:5], keys2[:2]) and torch.allclose(m.queue[0], keys2[2])
    assert m.ptr == 1


# --- augmentations ----------------------------------------------------------------------------
def test_translate_matches_roll_inside_and_zeros_outside():
    x = torch.rand(2, 1, 5, 6)
    y = ssl.translate(x, 2, -1)
    assert torch.equal(y[:, :, :4, 2:], x[:, :, 1:, :4])
    assert (y[:, :, :, :2] == 0).all() and (y[:, :, 4:, :] == 0).all()
    per = ssl.translate(x, torch.tensor([1, 0]), torch.tensor([0, 1]))
    assert torch.equal(per[0], ssl.translate(x[:1], 1, 0)[0])
    assert torch.equal(per[1], ssl.translate(x[1:], 0, 1)[0])
    assert torch.equal(ssl.translate(x, 0, 0), x)
    assert (ssl.translate(x, 9, 0) == 0).all()


def test_affine_warp_identity_integer_shift_and_rotation():
    x = torch.rand(3, 2, 6, 6)
    assert torch.allclose(ssl.affine_warp(x, 0.0, 1.0, (0.0, 0.0)), x, atol=1e-6)
    assert torch.allclose(
        ssl.affine_warp(x, 0.0, 1.0, (1.0, -2.0)), ssl.translate(x, 1, -2), atol=1e-5
    )
    assert torch.allclose(
        ssl.affine_warp(x, 90.0, 1.0, (0.0, 0.0)), torch.rot90(x, 1, (2, 3)), atol=1e-5
    )


def test_gaussian_blur_properties():
    x = torch.rand(4, 1, 8, 8)
    assert torch.allclose(ssl.gaussian_blur(x, 0.0), x, atol=1e-6)
    const = torch.full((2, 3, 5, 5), 0.7)
    assert torch.allclose(ssl.gaussian_blur(const, torch.tensor([0.5, 2.0])), const, atol=1e-6)
    spike = torch.zeros(1, 1, 9, 9)
    spike[0, 0, 4, 4] = 1.0
    blurred = ssl.gaussian_blur(spike, 1.0)
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert blurred[0, 0, 4, 4] < 1 and torch.allclose(blurred, blurred.flip(-1).flip(-2))
    with pytest.raises(ValueError, match="sigma"):
        ssl.gaussian_blur(x, -1.0)


def test_erase_fills_only_the_rectangle():
    x = torch.ones(2, 1, 4, 4)
    y = ssl.erase(x, torch.tensor([1, 0]), torch.tensor([1, 3]), 2, torch.tensor([2, 0]))
    assert y[0, 0, 1:3, 1:3].sum() == 0 and y[0].sum() == 12
    assert torch.equal(y[1], x[1])  # width 0 erases nothing


def test_augment_is_seeded_batched_and_keeps_shape_dtype():
    x = torch.rand(16, 1, 8, 8)
    a = ssl.augment(x, seed=3)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, ssl.augment(x, seed=3))
    assert not torch.equal(a, ssl.augment(x, seed=4))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(ssl.augment(x, generator=g1), ssl.augment(x, generator=g2))
    # every image gets its own random view
    same = x[:1].expand(4, 1, 8, 8)
    views = ssl.augment(same, seed=0)
    assert not torch.allclose(views[0], views[1])
    # with every transformation switched off, the images come back unchanged
    off = ssl.AugmentConfig(rotation=0, scale=(1, 1), shift=0, blur_prob=0, noise=0, erase_prob=0)
    assert torch.allclose(ssl.augment(x, off, seed=0), x, atol=1e-6)
    # the default config is the one augment uses without one
    assert torch.equal(ssl.augment(x, ssl.AugmentConfig(), seed=3), a)


def test_augmentation_bad_inputs():
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="x"):
        ssl.augment(torch.rand(8, 8))
    with pytest.raises(ValueError, match="rotation"):
        ssl.AugmentConfig(rotation=-1)
    with pytest.raises(ValueError, match="scale"):
        ssl.AugmentConfig(scale=(1.2, 0.9))
    with pytest.raises(ValueError, match="scale"):
        ssl.AugmentConfig(scale=(0.0, 1.0))
    with pytest.raises(TypeError, match="erase_size"):
        ssl.AugmentConfig(erase_size=0.3)
    with pytest.raises(ValueError, match="erase_size"):
        ssl.AugmentConfig(erase_size=(0.5, 1.5))
    with pytest.raises(ValueError, match="blur_prob"):
        ssl.AugmentConfig(blur_prob=2)
    with pytest.raises(TypeError, match="noise"):
        ssl.AugmentConfig(noise="0.1")
    with pytest.raises(TypeError, match="config"):
        ssl.augment(x, {"rotation": 10})
    with pytest.raises(TypeError, match="generator"):
        ssl.augment(x, generator=3)
    with pytest.raises(ValueError, match="dx"):
        ssl.translate(x, torch.tensor([1, 2, 3]), 0)
    with pytest.raises(TypeError, match="dx"):
        ssl.translate(x, 0.5, 0)
    with pytest.raises(ValueError, match="scale"):
        ssl.affine_warp(x, 0.0, 0.0, (0.0, 0.0))
    with pytest.raises(ValueError, match="shift"):
        ssl.affine_warp(x, 0.0, 1.0, torch.zeros(3, 2))
    with pytest.raises(ValueError, match="height"):
        ssl.erase(x, 0, 0, -1, 2)


# --- models and training ----------------------------------------------------------------------
def test_encoder_takes_any_image_size():
    assert ssl.ConvEncoder(out_dim=7)(torch.rand(3, 1, 8, 8)).shape == (3, 7)
    assert ssl.ConvEncoder(in_channels=3, width=4, out_dim=5)(torch.rand(2, 3, 32, 32)).shape == (
        2,
        5,
    )
    with pytest.raises(ValueError, match="width"):
        ssl.ConvEncoder(width=0)


def _instance_retrieval(enc, X):
    """How often the same image's second view is among the 5 nearest (by the encoder's features)."""
    v1, v2 = ssl.augment(X, seed=101), ssl.augment(X, seed=102)
    s = ssl.similarity_matrix(ssl.embed(enc, v1), ssl.embed(enc, v2))
    top = s.topk(5, dim=1).indices
    return float((top == torch.arange(X.shape[0])[:, None]).any(1).float().mean())


@pytest.mark.parametrize("name", ["simclr", "pirl", "moco"])
def test_pretraining_learns_to_tell_images_apart_and_updates_state(name):
    X = digits(images=True)[0][:128]
    torch.manual_seed(0)
    enc = ssl.ConvEncoder(width=8, out_dim=16)
    method = {
        "simclr": lambda: ssl.SimCLR(enc, proj_dim=16, tau=0.5),
        "pirl": lambda: ssl.PIRL(enc, ssl.MemoryBank(128, 16), n_negatives=32),
        "moco": lambda: ssl.MoCo(enc, proj_dim=16, queue_size=64, momentum=0.9),
    }[name]()
    before = {k: v.clone() for k, v in method.state_dict().items()}
    untrained = _instance_retrieval(enc, X)
    config = ssl.PretrainConfig(epochs=16, batch_size=32, lr=3e-3, seed=0)
    history = ssl.pretrain(method, X, config)
    assert isinstance(history, History) and history.per == "step"
    assert history.n == 64 and torch.isfinite(history.loss).all()
    assert _instance_retrieval(enc, X) > untrained + 0.07  # measured: +0.10 to +0.16
    if name == "pirl":
        assert not torch.allclose(method.bank.bank, before["bank.bank"])
        assert torch.allclose(method.bank.bank.norm(dim=1), torch.ones(128), atol=1e-5)
    if name == "moco":
        assert not torch.allclose(method.queue, before["queue"])
        key = method.key_encoder.fc.weight
        assert not torch.equal(key, before["key_encoder.fc.weight"])
        assert not torch.equal(key, method.encoder.fc.weight)  # it lags behind


def test_pretrain_and_supervised_bad_inputs():
    enc = ssl.ConvEncoder(width=4, out_dim=8)
    with pytest.raises(TypeError, match="method"):
        ssl.pretrain(enc, torch.rand(4, 1, 8, 8))
    with pytest.raises(ValueError, match="batch_size"):
        ssl.PretrainConfig(batch_size=1)
    with pytest.raises(TypeError, match="config"):
        ssl.pretrain(ssl.SimCLR(enc), torch.rand(4, 1, 8, 8), {"epochs": 1})
    with pytest.raises(ValueError, match="X"):
        ssl.pretrain(ssl.SimCLR(enc), torch.rand(4, 64))
    with pytest.raises(ValueError, match="y"):
        ssl.train_supervised(enc, torch.rand(4, 1, 8, 8), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="config"):
        ssl.train_supervised(enc, torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]), 5)
    with pytest.raises(ValueError, match="tau"):
        ssl.SimCLR(enc, tau=0)
    with pytest.raises(TypeError, match="encoder"):
        ssl.SimCLR(lambda x: x)


def test_supervised_training_fits_labels():
    torch.manual_seed(0)
    X = torch.zeros(40, 1, 8, 8)
    y = torch.arange(40) % 2
    X[y == 1, :, :4] = 1.0  # class 1: top half lit
    X = X + 0.05 * torch.rand(40, 1, 8, 8)
    enc = ssl.ConvEncoder(width=4, out_dim=4)
    history = ssl.train_supervised(enc, X, y, ssl.PretrainConfig(epochs=15, batch_size=20, lr=5e-3))
    assert history.n == 30 and history.loss[-1] < 0.3 * history.loss[0]


# --- evaluation -------------------------------------------------------------------------------
def test_few_label_split_counts():
    y = torch.arange(50) % 5
    idx = ssl.few_label_split(y, 3, seed=1)
    assert idx.shape == (15,) and torch.equal(torch.bincount(y[idx]), torch.full((5,), 3))
    assert torch.equal(idx, ssl.few_label_split(y, 3, seed=1))
    with pytest.raises(ValueError, match="per_class"):
        ssl.few_label_split(y, 11)


def test_probes_on_separable_and_random_features():
    g = torch.Generator().manual_seed(0)
    centers = 5 * torch.randn(4, 6, generator=g)
    ytr, yte = torch.arange(40) % 4, torch.arange(80) % 4
    xtr = centers[ytr] + 0.1 * torch.randn(40, 6, generator=g)
    xte = centers[yte] + 0.1 * torch.randn(80, 6, generator=g)
    assert ssl.linear_probe(xtr, ytr, xte, yte) == 1.0
    assert ssl.knn_accuracy(xtr, ytr, xte, yte, k=3) == 1.0
    noise = torch.randn(40, 6, generator=g)
    assert ssl.knn_accuracy(noise, ytr, torch.randn(80, 6, generator=g), yte) < 0.6
    with pytest.raises(ValueError, match="train_y"):
        ssl.linear_probe(xtr, ytr[:5], xte, yte)
    with pytest.raises(ValueError, match="test_x"):
        ssl.knn_accuracy(xtr, ytr, xte[:, :3], yte)
    with pytest.raises(ValueError, match="k"):
        ssl.knn_accuracy(xtr, ytr, xte, yte, k=0)
    with pytest.raises(ValueError, match="weight_decay"):
        ssl.linear_probe(xtr, ytr, xte, yte, weight_decay=-1)


def test_probe_table_rows():
    g = torch.Generator().manual_seed(0)
    ytr, yte = torch.arange(60) % 3, torch.arange(30) % 3
    good = (torch.eye(3)[ytr] * 4 + 0.1 * torch.randn(60, 3, generator=g), torch.eye(3)[yte] * 4)
    bad = (torch.randn(60, 3, generator=g), torch.randn(30, 3, generator=g))
    rows = ssl.probe_table({"good": good, "bad": bad}, ytr, yte, per_class=(1, None), draws=3)
    assert [(r["features"], r["labels_per_class"]) for r in rows] == [
        ("good", 1),
        ("good", "all"),
        ("bad", 1),
        ("bad", "all"),
    ]
    assert rows[0]["linear"] == 1.0 and rows[0]["knn"] == 1.0 and rows[1]["linear_sd"] == 0.0
    assert rows[2]["linear"] < 0.8
    with pytest.raises(TypeError, match="features"):
        ssl.probe_table({}, ytr, yte)
    with pytest.raises(ValueError, match="draws"):
        ssl.probe_table({"good": good}, ytr, yte, draws=0)


def test_embed_batches_and_restores_mode():
    enc = ssl.ConvEncoder(width=4, out_dim=3)
    X = torch.rand(10, 1, 8, 8)
    enc.train()
    out = ssl.embed(enc, X, batch_size=3)
    assert out.shape == (10, 3) and enc.training and not out.requires_grad
    enc.eval()
    assert torch.allclose(out, enc(X), atol=1e-6)


def test_alignment_uniformity_effective_rank():
    z = _rand(50, 8)
    assert ssl.alignment(z, 3 * z).item() == pytest.approx(0.0, abs=1e-6)
    assert ssl.alignment(z, -z).item() == pytest.approx(4.0, rel=1e-5)
    assert ssl.uniformity(torch.ones(10, 3)).item() == pytest.approx(0.0, abs=1e-6)
    assert ssl.uniformity(z) < -1.0
    spread = ssl.effective_rank(_rand(500, 8))
    assert 7.0 < spread <= 8.0
    line = _rand(100, 1) * torch.tensor([[1.0, 2.0, 0.5]]) + 0.001 * _rand(100, 3)
    assert ssl.effective_rank(line) < 1.5
    with pytest.raises(ValueError, match="z"):
        ssl.uniformity(torch.ones(1, 3))
    with pytest.raises(ValueError, match="exponent"):
        ssl.alignment(z, z, exponent=0)
    assert ssl.alignment(z, -z, exponent=1.0).item() == pytest.approx(2.0, rel=1e-5)
    per_pair = ssl.alignment(z, _rand(50, 8, seed=1), reduction="none")
    assert per_pair.shape == (50,)
    assert torch.allclose(per_pair.mean(), ssl.alignment(z, _rand(50, 8, seed=1)))


# --- exercises and benchmark ------------------------------------------------------------------
def test_exercise_references_pass_and_stubs_report_todo():
    def stub(*args):
        raise NotImplementedError

    assert len(ch08.EXERCISES) >= 3
    for ex in ch08.EXERCISES.values():
        assert ex.check(ex.reference, quiet=True)
        assert ex.check(stub, quiet=True).status == "todo"


def test_exercise_checks_catch_common_mistakes():
    def no_diagonal_mask(z1, z2, t):
        u = F.normalize(torch.cat([z1, z2]), dim=1)
        n = z1.shape[0]
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
        return F.cross_entropy(u @ u.T / t, target)

    def roll(x, dx, dy):
        return torch.roll(x, (int(dy), int(dx)), dims=(2, 3))

    def no_renorm(bank, index, values, momentum):
        out = bank.clone()
        out[index] = momentum * bank[index] + (1 - momentum) * values
        return out

    assert ch08.check_nt_xent(no_diagonal_mask, quiet=True).status == "fail"
    assert not ch08.check_translate(roll, quiet=True)
    assert ch08.check_memory_update(no_renorm, quiet=True).status == "fail"


def test_bench_runs_on_a_tiny_config(capsys):
    out = bench_ssl.main(["--sizes", "8", "--peer-max-n", "8"])
    assert out["memory"][0]["N"] == 8 and out["memory"][0]["ebmlab peak MB"] >= 0
    printed = capsys.readouterr().out
    assert "| N |" in printed and "\nCPU: " in printed
    with pytest.raises(ValueError, match="impl"):
        bench_ssl.nt_xent_memory(8, impl="other")


def test_pirl_and_train_config_name_their_bad_hyper_parameters():
    enc = ssl.ConvEncoder(width=2, out_dim=4)
    with pytest.raises(TypeError, match="bank"):
        ssl.PIRL(enc, 8)
    with pytest.raises(TypeError, match="n"):
        ssl.MemoryBank(8.5, 3)
    with pytest.raises(ValueError, match="weight_decay"):
        ssl.PretrainConfig(epochs=1, batch_size=4, weight_decay=-1.0)
    with pytest.raises(TypeError, match="weight_decay"):
        ssl.PretrainConfig(epochs=1, batch_size=4, weight_decay="0")
    with pytest.raises(ValueError, match="lr"):
        ssl.PretrainConfig(lr=0.0)
    with pytest.raises(TypeError, match="epochs"):
        ssl.PretrainConfig(epochs=2.5)
    with pytest.raises(ValueError, match="seed"):
        ssl.PretrainConfig(seed=-1)
    with pytest.raises(TypeError, match="augment"):
        ssl.train_supervised(enc, torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]), augment=3)


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda enc: ssl.ConvEncoder(in_channels=0), "in_channels"),
        (lambda enc: ssl.ConvEncoder(out_dim=1.5), "out_dim"),
        (lambda enc: ssl.projection_head(4, 0), "out_dim"),
        (lambda enc: ssl.projection_head(4, 3, hidden=-1), "hidden"),
        (lambda enc: ssl.MemoryBank(n=1, dim=3), "n"),
        (lambda enc: ssl.MemoryBank(n=4, dim=0), "dim"),
        (lambda enc: ssl.MemoryBank(n=4, dim=3, momentum=1.5), "momentum"),
        (lambda enc: ssl.MemoryBank(n=4, dim=3, seed=-1), "seed"),
        (lambda enc: ssl.SimCLR(enc, proj_dim=0), "proj_dim"),
        (lambda enc: ssl.SimCLR(enc, similarity="dot"), "similarity"),
        (lambda enc: ssl.SimCLR(enc, augment="flip"), "augment"),
        (lambda enc: ssl.PIRL(enc, ssl.MemoryBank(8, 4), n_negatives=0), "n_negatives"),
        (lambda enc: ssl.PIRL(enc, ssl.MemoryBank(8, 4), mix=1.5), "mix"),
        (lambda enc: ssl.PIRL(enc, ssl.MemoryBank(8, 4), tau=-0.1), "tau"),
        (lambda enc: ssl.PIRL(enc, "bank"), "bank"),
        (lambda enc: ssl.MoCo(enc, queue_size=0), "queue_size"),
        (lambda enc: ssl.MoCo(enc, momentum=-0.1), "momentum"),
        (lambda enc: ssl.MoCo(enc, tau=0.0), "tau"),
    ],
)
def test_module_constructors_name_bad_hyper_parameters(make, arg):
    with pytest.raises((ValueError, TypeError), match=rf"^{arg} must"):
        make(ssl.ConvEncoder(width=2, out_dim=4))


# --- the readable reference, reductions, the training loop, checks at the boundary -----------
def test_reference_losses_equal_the_checked_ones_in_float64():
    from ebmlab.ssl import reference

    z1, z2 = _rand(7, 5).double(), _rand(7, 5, seed=1).double()
    for tau in (0.05, 0.5, 2.0):
        torch.testing.assert_close(
            reference.nt_xent(z1, z2, tau), ssl.nt_xent(z1, z2, tau), rtol=1e-12, atol=1e-12
        )
    q, p, n = _rand(4, 3).double(), _rand(4, 3, seed=1).double(), _rand(6, 3, seed=2).double()
    for tau in (0.01, 0.2):
        torch.testing.assert_close(
            reference.pirl_nce(q, p, n, tau), ssl.pirl_nce(q, p, n, tau), rtol=1e-12, atol=1e-12
        )
        torch.testing.assert_close(
            reference.moco_loss(q, p, n, tau), ssl.moco_loss(q, p, n, tau), rtol=1e-12, atol=1e-12
        )
    bank = F.normalize(_rand(6, 3), dim=1).double()
    idx, v = torch.tensor([1, 4]), _rand(2, 3, seed=5).double()
    torch.testing.assert_close(
        reference.memory_update(bank, idx, v, 0.7),
        ssl.memory_update(bank, idx, v, 0.7),
        rtol=1e-12,
        atol=1e-12,
    )


def test_losses_reduce_by_mean_sum_or_none():
    z1, z2 = _rand(5, 3), _rand(5, 3, seed=1)
    q, n = _rand(5, 3, seed=2), _rand(4, 3, seed=3)
    calls = {
        "nt_xent": (lambda r: ssl.nt_xent(z1, z2, 0.3, reduction=r), 10),
        "pirl_nce": (lambda r: ssl.pirl_nce(q, z1, n, 0.3, reduction=r), 5),
        "moco_loss": (lambda r: ssl.moco_loss(q, z1, n, 0.3, reduction=r), 5),
        "alignment": (lambda r: ssl.alignment(z1, z2, reduction=r), 5),
    }
    for name, (loss, terms) in calls.items():
        each = loss("none")
        assert each.shape == (terms,), name
        torch.testing.assert_close(loss("mean"), each.mean(), msg=name)
        torch.testing.assert_close(loss("sum"), each.sum(), msg=name)
    assert torch.equal(ssl.nt_xent(z1, z2, 0.3), ssl.nt_xent(z1, z2, 0.3, reduction="mean"))


def _loop_written_out(method, X, epochs, batch_size, seed, drop_last=True):
    """The training loop before it ran on ebmlab.optim, written out: Adam, shuffled batches of
    at least 2, the method's after_step, the loss of every step."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=2e-3)
    method.train()
    losses, n = [], X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        stop = n - n % batch_size if drop_last and n >= batch_size else n
        for start in range(0, stop, batch_size):
            idx = perm[start : start + batch_size]
            if idx.numel() < 2:
                continue
            loss = method.loss(X[idx], idx, g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            method.after_step()
            losses.append(float(loss.detach()))
    method.eval()
    return losses


@pytest.mark.parametrize("name", ["simclr", "pirl", "moco"])
def test_pretrain_runs_the_same_steps_as_the_loop_written_out(name):
    X = digits(images=True)[0][:40]

    def make():
        torch.manual_seed(0)
        enc = ssl.ConvEncoder(width=2, out_dim=4)
        return {
            "simclr": lambda: ssl.SimCLR(enc, proj_dim=3),
            "pirl": lambda: ssl.PIRL(enc, ssl.MemoryBank(40, 3), n_negatives=5),
            "moco": lambda: ssl.MoCo(enc, proj_dim=3, queue_size=8),
        }[name]()

    by_hand = _loop_written_out(make(), X, epochs=2, batch_size=16, seed=3)
    history = ssl.pretrain(
        make(), X, ssl.PretrainConfig(epochs=2, batch_size=16, weight_decay=0, seed=3)
    )
    assert history.loss.tolist() == by_hand and len(by_hand) == 4  # 40 = 2 x 16 + 8 dropped


class _Supervised(ssl.ContrastiveMethod):
    """train_supervised's step as a method, for the loop written out."""

    def __init__(self, encoder, y):
        super().__init__()
        self.encoder, self.y = encoder, y
        self.clf = torch.nn.Linear(encoder.out_dim, int(y.max()) + 1)

    def loss(self, x, index, generator):
        return F.cross_entropy(self.clf(self.encoder(x)), self.y[index])


def test_train_supervised_keeps_the_last_batch_and_skips_a_single_image():
    X, y = digits(images=True)[0][:33], torch.arange(33) % 3
    torch.manual_seed(0)
    enc = ssl.ConvEncoder(width=2, out_dim=4)
    by_hand = _loop_written_out(_Supervised(enc, y), X, 2, 16, seed=1, drop_last=False)
    torch.manual_seed(0)
    enc = ssl.ConvEncoder(width=2, out_dim=4)
    config = ssl.PretrainConfig(epochs=2, batch_size=16, weight_decay=0, seed=1)
    history = ssl.train_supervised(enc, X, y, config, augment=lambda x, g: x)
    assert history.loss.tolist() == by_hand and len(by_hand) == 4  # 33 = 16 + 16 + 1 skipped


def test_pretrain_with_no_epochs_returns_an_empty_loss_curve():
    method = ssl.SimCLR(ssl.ConvEncoder(width=2, out_dim=4), proj_dim=3)
    history = ssl.pretrain(method, torch.rand(4, 1, 8, 8), ssl.PretrainConfig(epochs=0))
    assert history.n == 0 and history.loss.shape == (0,)


@pytest.mark.parametrize("name", ["simclr", "pirl", "moco"])
def test_training_checks_the_images_once_not_at_every_step(name, monkeypatch):
    import ebmlab._validation as validation
    from ebmlab.ssl import augmentations, evaluate, losses, methods, train

    seen = []

    def counting(value, arg, **kw):
        seen.append(arg)
        return validation.as_tensor(value, arg, **kw)

    for module in (augmentations, losses, methods, train, evaluate):
        monkeypatch.setattr(module, "as_tensor", counting)
    torch.manual_seed(0)
    enc = ssl.ConvEncoder(width=2, out_dim=4)
    method = {
        "simclr": lambda: ssl.SimCLR(enc, proj_dim=3),
        "pirl": lambda: ssl.PIRL(enc, ssl.MemoryBank(32, 3), n_negatives=4),
        "moco": lambda: ssl.MoCo(enc, proj_dim=3, queue_size=8),
    }[name]()
    history = ssl.pretrain(
        method, torch.rand(32, 1, 8, 8), ssl.PretrainConfig(epochs=2, batch_size=8)
    )
    assert history.n == 8 and seen == ["X"]
