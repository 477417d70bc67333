"""Training across processes (ebmlab.ssl.distributed, ebmlab.ssl.ddp) against one process.

Two gloo processes on the CPU, each holding a different half of a global batch, must give the
loss and every gradient that one process gives on the whole batch. The same comparisons run
with two broken gathers (one without gradient, one whose backward returns only this process's
own gradient) and must then find wrong gradients: the tests fail if the gather's backward is
removed. All multi-process cases run in one launch of two processes (``_results``).
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import traceback
import types
import warnings
from datetime import timedelta

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from ebmlab import ssl
from ebmlab.runtime import generator
from ebmlab.ssl import ddp, distributed
from ebmlab.ssl.joint import BYOL, BarlowTwins, SimSiam, VICReg
from ebmlab.ssl.regularized import _barlow_twins, _vicreg

WORLD = 2
TIMEOUT = 120  # seconds for the whole launch; a hang fails the test instead of blocking it
N, D = 8, 5  # the global batch: 8 pairs, 4 on each process
ROOT = pathlib.Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------
# Launching two processes
# ----------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, fn, port: int, out: str) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=timedelta(seconds=60),
    )
    try:
        result = fn(rank)
    finally:
        dist.destroy_process_group()
    torch.save(result, os.path.join(out, f"{rank}.pt"))


def _launch(fn, out: pathlib.Path) -> list[dict]:
    ctx = mp.start_processes(
        _entry, args=(fn, _free_port(), str(out)), nprocs=WORLD, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + TIMEOUT
    try:
        while not ctx.join(timeout=5):
            if time.monotonic() > deadline:
                pytest.fail(f"the {WORLD} processes did not finish within {TIMEOUT} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    return [torch.load(out / f"{r}.pt") for r in range(WORLD)]


def _each(cases: dict) -> dict:
    """Run every case; a failing case records its traceback instead of stopping the others."""
    out = {}
    for name, case in cases.items():
        try:
            out[name] = case()
        except Exception:
            out[name] = {"error": traceback.format_exc()}
    return out


# ----------------------------------------------------------------------------------------------
# Broken gathers, as public code bases have written them
# ----------------------------------------------------------------------------------------------
def _no_grad_gather(z):
    """``all_gather`` into fresh tensors: no gradient reaches any gathered row."""
    parts = [torch.empty_like(z) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, z.detach().contiguous())
    return torch.cat(parts)


def _local_slice_gather(z):
    """This process's own rows put back: its gradient reaches them, the others' never do."""
    parts = [torch.empty_like(z) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, z.detach().contiguous())
    parts[dist.get_rank()] = z
    return torch.cat(parts)


GATHERS = {"correct": None, "no_grad": _no_grad_gather, "local_slice": _local_slice_gather}


# ----------------------------------------------------------------------------------------------
# The cases: losses, gather, batch norm, methods, training, bad input
# ----------------------------------------------------------------------------------------------
def _views_batch():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(N, D, generator=g, dtype=torch.float64)
    return z1, z1 + 0.5 * torch.randn(N, D, generator=g, dtype=torch.float64)


def _loss(name: str, z1, z2, gather=None):
    """The across-process loss: the public function, or its core with another gather."""
    if gather is None:
        public = {
            "nt_xent": lambda: distributed.nt_xent(z1, z2, tau=0.5),
            "vicreg": lambda: distributed.vicreg_loss(z1, z2).loss,
            "barlow": lambda: distributed.barlow_twins_loss(z1, z2),
        }
        return public[name]()
    cores = {
        "nt_xent": lambda: distributed._nt_xent(z1, z2, 0.5, gather=gather),
        "vicreg": lambda: _vicreg(gather(z1), gather(z2), 25.0, 25.0, 1.0, 1.0, 1e-4).loss,
        "barlow": lambda: _barlow_twins(gather(z1), gather(z2), 5e-3, 1e-5),
    }
    return cores[name]()


def _one_process_loss(name: str, z1, z2):
    return {
        "nt_xent": lambda: ssl.nt_xent(z1, z2, tau=0.5),
        "vicreg": lambda: ssl.vicreg_loss(z1, z2).loss,
        "barlow": lambda: ssl.barlow_twins_loss(z1, z2),
    }[name]()


def _share(t: torch.Tensor, rank: int) -> torch.Tensor:
    n = t.shape[0] // WORLD
    return t[rank * n : (rank + 1) * n]


def _backward(loss, *leaves):
    if loss.requires_grad:
        loss.backward()
    return [x.grad if x.grad is not None else torch.zeros_like(x) for x in leaves]


def _loss_case(rank: int, name: str, gather):
    Z1, Z2 = _views_batch()
    z1 = _share(Z1, rank).clone().requires_grad_()
    z2 = _share(Z2, rank).clone().requires_grad_()
    loss = _loss(name, z1, z2, gather)
    g1, g2 = _backward(loss, z1, z2)
    return {"loss": loss.item(), "g1": g1 / WORLD, "g2": g2 / WORLD}  # what DDP's mean sees


def _gather_case(rank: int):
    """Ours against torch.distributed.nn's all_gather on a loss that differs by rank."""
    import torch.distributed.nn.functional as dnn

    z = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(rank))
    w = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    grads = []
    for gather in (distributed.gather, lambda t: torch.cat(dnn.all_gather(t))):
        x = z.clone().requires_grad_()
        with warnings.catch_warnings():  # torch marks this all_gather as deprecated
            warnings.simplefilter("ignore", FutureWarning)
            ((gather(x) * w).sum() ** 2 * (rank + 1)).backward()
        grads.append(x.grad)
    return {"ours": grads[0], "torch": grads[1]}


def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(48, 4),
        nn.BatchNorm1d(4, momentum=None),
    ).double()


def _bn_batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, 2, 4, 4, generator=g, dtype=torch.float64)
    return x, torch.randn(N, 4, generator=g, dtype=torch.float64)


def _bn_run(net: nn.Module, x, w) -> dict:
    """Two training steps' outputs, input and parameter gradients, and running statistics."""
    x = x.clone().requires_grad_()
    out = net(x)
    (out * w).sum().backward()
    net(x.detach() + 1)  # a second batch moves the running statistics again
    return {
        "out": out.detach(),
        "x_grad": x.grad,
        "grads": {k: p.grad for k, p in net.named_parameters()},
        "buffers": {k: b.clone() for k, b in net.named_buffers()},
        "eval": net.eval()(x.detach()).detach(),
    }


def _bn_case(rank: int, sync: bool):
    x, w = _bn_batch()
    net = distributed.convert_sync_batchnorm(_bn_net()) if sync else _bn_net()
    return _bn_run(net, _share(x, rank), _share(w, rank))


def _noisy_view(x, g):
    return x + 0.1 * torch.randn(x.shape, generator=g, dtype=x.dtype)


METHODS = ("simclr", "moco", "vicreg", "barlow", "byol", "simsiam")


def _method(name: str):
    torch.manual_seed(0)
    enc = ssl.ConvEncoder(in_channels=1, width=2, out_dim=6)
    kw = {"augment": _noisy_view}
    make = {
        "simclr": lambda: ssl.SimCLR(enc, proj_dim=4, tau=0.5, **kw),
        "moco": lambda: ssl.MoCo(enc, proj_dim=4, queue_size=32, momentum=0.5, **kw),
        "vicreg": lambda: VICReg(enc, proj_dim=4, **kw),
        "barlow": lambda: BarlowTwins(enc, proj_dim=4, off_diagonal=0.25, **kw),
        "byol": lambda: BYOL(enc, proj_dim=4, pred_hidden=3, momentum=0.5, **kw),
        "simsiam": lambda: SimSiam(enc, proj_dim=4, pred_hidden=3, **kw),
    }
    return make[name]().double()


def _images():
    return torch.rand(N, 1, 6, 6, generator=torch.Generator().manual_seed(2)).double()


def _step_record(method, loss) -> dict:
    params = {k: p for k, p in method.named_parameters() if p.requires_grad}
    grads = dict(zip(params, _backward(loss, *params.values())))
    method.after_step()
    queue = method.queue.clone() if hasattr(method, "queue") else None
    return {"loss": loss.item(), "grads": grads, "queue": queue}


def _method_case(rank: int, name: str, gather):
    method = _method(name)
    net = ddp._prepare(method, gather or distributed._gather)
    method.train()
    return _step_record(method, net(_images(), generator(0)))


def _one_process_step(name: str) -> dict:
    method = _method(name).train()
    return _step_record(method, method.loss(_images(), torch.arange(N), generator(0)))


TRAIN = ("simclr", "vicreg", "moco")
TRAIN_CONFIG = ssl.PretrainConfig(epochs=2, batch_size=32, lr=3e-3, seed=0)


def _train_data():
    from ebmlab.data import digits

    return digits(images=True)[0][:96]


def _trained(name: str, fit) -> dict:
    torch.manual_seed(0)
    enc = ssl.ConvEncoder(in_channels=1, width=4, out_dim=8)
    method = {
        "simclr": lambda: ssl.SimCLR(enc, proj_dim=8),
        "vicreg": lambda: VICReg(enc, proj_dim=8),
        "moco": lambda: ssl.MoCo(enc, proj_dim=8, queue_size=64),
    }[name]().double()  # float64: Adam turns float32 noise in zero gradients into steps
    history = fit(method, _train_data().double(), TRAIN_CONFIG)
    return {"loss": history.loss, "params": dict(method.encoder.state_dict())}


def _message(fn) -> str:
    try:
        fn()
    except (ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def _bad_input_case(rank: int) -> dict:
    z = torch.randn(4, 3)
    short = torch.randn(3, 3)
    return {
        "mismatched views on one rank": _message(
            lambda: distributed.nt_xent(z, short if rank == 1 else z)
        ),
        "unequal batches": _message(
            lambda: distributed.vicreg_loss(*(2 * [short if rank == 1 else z]))
        ),
        "unequal gather": _message(lambda: distributed.gather(short if rank == 1 else z)),
        "world size does not divide the batch": _message(
            lambda: ddp.pretrain(_method("vicreg"), _images(), ssl.PretrainConfig(batch_size=3))
        ),
    }


def _entry_point_case(rank: int) -> dict:
    argv = ["--method", "byol", "--epochs", "1", "--batch-size", "128", "--width", "4"]
    return {"accuracy": ddp.main(argv)}


def _all_cases(rank: int) -> dict:
    cases = {}
    for name in ("nt_xent", "vicreg", "barlow"):
        for kind, gather in GATHERS.items():
            cases[f"loss {name} {kind}"] = lambda n=name, g=gather: _loss_case(rank, n, g)
    cases["gather"] = lambda: _gather_case(rank)
    cases["bn sync"] = lambda: _bn_case(rank, True)
    cases["bn plain"] = lambda: _bn_case(rank, False)
    for name in METHODS:
        cases[f"method {name}"] = lambda n=name: _method_case(rank, n, None)
    for name in ("simclr", "vicreg"):
        for kind in ("no_grad", "local_slice"):
            cases[f"method {name} {kind}"] = lambda n=name, g=GATHERS[kind]: _method_case(
                rank, n, g
            )
    for name in TRAIN:
        cases[f"train {name}"] = lambda n=name: _trained(n, ddp.pretrain)
    cases["bad input"] = lambda: _bad_input_case(rank)
    cases["entry point"] = lambda: _entry_point_case(rank)
    return _each(cases)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return _launch(_all_cases, tmp_path_factory.mktemp("ranks"))


def _get(results, key) -> list[dict]:
    got = [r[key] for r in results]
    for r in got:
        if isinstance(r, dict) and "error" in r:
            pytest.fail(f"case {key!r} raised in a process:\n{r['error']}")
    return got


def _max_diff(a, b) -> float:
    return float((a - b).abs().max())


# ----------------------------------------------------------------------------------------------
# Two processes against one
# ----------------------------------------------------------------------------------------------
def _gathered_grads(ranks) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cat([r["g1"] for r in ranks]), torch.cat([r["g2"] for r in ranks])


def _one_process_grads(name):
    Z1, Z2 = (z.clone().requires_grad_() for z in _views_batch())
    loss = _one_process_loss(name, Z1, Z2)
    loss.backward()
    return loss.item(), Z1.grad, Z2.grad


@pytest.mark.parametrize("name", ["nt_xent", "vicreg", "barlow"])
def test_the_losses_on_two_processes_equal_one_process_on_the_whole_batch(results, name):
    ranks = _get(results, f"loss {name} correct")
    loss, G1, G2 = _one_process_grads(name)
    g1, g2 = _gathered_grads(ranks)
    assert sum(r["loss"] for r in ranks) / WORLD == pytest.approx(loss, abs=1e-12)
    assert _max_diff(g1, G1) < 1e-12 and _max_diff(g2, G2) < 1e-12
    if name != "nt_xent":  # the batch statistics: the same global loss on every process
        assert ranks[0]["loss"] == pytest.approx(ranks[1]["loss"], abs=1e-12)


@pytest.mark.parametrize("kind", ["no_grad", "local_slice"])
@pytest.mark.parametrize("name", ["nt_xent", "vicreg", "barlow"])
def test_a_gather_without_its_backward_gives_the_right_loss_and_wrong_gradients(
    results, name, kind
):
    ranks = _get(results, f"loss {name} {kind}")
    loss, G1, G2 = _one_process_grads(name)
    g1, g2 = _gathered_grads(ranks)
    assert sum(r["loss"] for r in ranks) / WORLD == pytest.approx(loss, abs=1e-12)
    wrong = max(_max_diff(g1, G1), _max_diff(g2, G2))
    scale = max(float(G1.abs().max()), float(G2.abs().max()))
    assert wrong > 0.1 * scale, f"{kind} gather: gradients off by only {wrong:.2e}"


def test_the_gather_agrees_with_torch_distributed_nn(results):
    for r in _get(results, "gather"):
        assert _max_diff(r["ours"], r["torch"]) < 1e-12


def _one_process_bn():
    x, w = _bn_batch()
    return _bn_run(_bn_net(), x, w)


def test_sync_batchnorm_on_two_processes_equals_batchnorm_on_the_whole_batch(results):
    ranks, one = _get(results, "bn sync"), _one_process_bn()
    for key in ("out", "x_grad", "eval"):
        assert _max_diff(torch.cat([r[key] for r in ranks]), one[key]) < 1e-12, key
    for k, grad in one["grads"].items():  # the loss is the sum of the processes' losses
        assert _max_diff(sum(r["grads"][k] for r in ranks), grad) < 1e-12, k
    for r in ranks:
        for k, b in one["buffers"].items():
            assert _max_diff(r["buffers"][k].double(), b.double()) < 1e-12, k


def test_plain_batchnorm_on_two_processes_does_not(results):
    ranks, one = _get(results, "bn plain"), _one_process_bn()
    assert _max_diff(torch.cat([r["out"] for r in ranks]), one["out"]) > 0.01


@pytest.mark.parametrize("name", METHODS)
def test_each_method_on_two_processes_equals_one_process(results, name):
    ranks, one = _get(results, f"method {name}"), _one_process_step(name)
    assert sum(r["loss"] for r in ranks) / WORLD == pytest.approx(one["loss"], abs=1e-10)
    for r in ranks:  # DDP's averaged gradients, every parameter
        assert r["grads"].keys() == one["grads"].keys()
        for k, grad in one["grads"].items():
            assert _max_diff(r["grads"][k], grad) < 1e-10, k
        if one["queue"] is not None:  # MoCo enqueues the keys of every process
            assert _max_diff(r["queue"], one["queue"]) < 1e-12


@pytest.mark.parametrize("kind", ["no_grad", "local_slice"])
@pytest.mark.parametrize("name", ["simclr", "vicreg"])
def test_a_method_with_a_broken_gather_gets_wrong_gradients(results, name, kind):
    ranks, one = _get(results, f"method {name} {kind}"), _one_process_step(name)
    wrong = max(_max_diff(ranks[0]["grads"][k], g) for k, g in one["grads"].items())
    scale = max(float(g.abs().max()) for g in one["grads"].values())
    assert wrong > 0.05 * scale, f"{kind} gather: gradients off by only {wrong:.2e}"


@pytest.mark.parametrize("name", TRAIN)
def test_training_on_two_processes_follows_training_on_one(results, name):
    ranks, one = _get(results, f"train {name}"), _trained(name, ssl.pretrain)
    for r in ranks:
        assert r["loss"].shape == one["loss"].shape == (6,)
        assert _max_diff(r["loss"], one["loss"]) < 1e-9
        for k, p in one["params"].items():
            assert _max_diff(r["params"][k], p) < 1e-9, k


def test_bad_input_raises_the_same_clear_error_on_every_process(results):
    ranks = _get(results, "bad input")
    assert ranks[0] == ranks[1]
    got = ranks[0]
    assert got["mismatched views on one rank"].startswith("ValueError: z2 must have the shape")
    assert "rank 1" in got["mismatched views on one rank"]
    assert got["unequal batches"].startswith("ValueError: z1 must hold as many rows")
    assert got["unequal gather"].startswith("ValueError: z must hold as many rows")
    assert "batch_size" in got["world size does not divide the batch"]


def test_the_entry_point_trains_on_two_processes(results):
    ranks = _get(results, "entry point")
    assert ranks[0]["accuracy"] == ranks[1]["accuracy"] > 0.3


def test_torchrun_runs_the_entry_point():
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    cmd += [str(WORLD), "-m", "ebmlab.ssl.ddp", "--method", "simclr", "--epochs", "1"]
    cmd += ["--batch-size", "256", "--width", "2", "--out-dim", "8", "--proj-dim", "8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 process(es) (gloo, cpu), global batch 256 = 2 x 128" in run.stdout
    assert "k-NN accuracy (k=5) on 360 held-out images" in run.stdout


# ----------------------------------------------------------------------------------------------
# One process: every function is its one-process counterpart; bad input
# ----------------------------------------------------------------------------------------------
def test_without_a_process_group_the_losses_are_the_one_process_losses():
    z1, z2 = _views_batch()
    for name in ("nt_xent", "vicreg", "barlow"):
        assert _loss(name, z1, z2).item() == _one_process_loss(name, z1, z2).item()
    assert distributed.gather(z1) is z1
    assert distributed.all_reduce(z1) is z1
    assert distributed.world() == (0, 1)


def test_sync_batchnorm_in_one_process_is_batchnorm():
    x, w = _bn_batch()
    plain, sync = _one_process_bn(), _bn_run(distributed.convert_sync_batchnorm(_bn_net()), x, w)
    for key in ("out", "x_grad", "eval"):
        assert torch.equal(plain[key], sync[key])


def test_convert_sync_batchnorm_keeps_the_parameters_and_statistics():
    net = _bn_net()
    tensors = [t.data_ptr() for t in [*net.parameters(), *net.buffers()]]
    net = distributed.convert_sync_batchnorm(net)
    assert isinstance(net[1], distributed.SyncBatchNorm)
    assert isinstance(net[5], distributed.SyncBatchNorm) and net[5].momentum is None
    assert [t.data_ptr() for t in [*net.parameters(), *net.buffers()]] == tensors
    with pytest.raises(TypeError, match="module"):
        distributed.convert_sync_batchnorm("bn")


def test_bad_hyper_parameters_and_views_get_clear_errors():
    z1, z2 = _views_batch()
    with pytest.raises(ValueError, match="tau"):
        distributed.nt_xent(z1, z2, tau=0.0)
    with pytest.raises(ValueError, match="tau"):
        distributed.nt_xent(z1, z2, tau=-1.0)
    for loss in (distributed.nt_xent, distributed.vicreg_loss, distributed.barlow_twins_loss):
        with pytest.raises(ValueError, match="z2 must have the shape of z1"):
            loss(z1, z2[:, :3])
        with pytest.raises(ValueError, match="z2 must have the shape of z1"):
            loss(z1, z2[:5])
        with pytest.raises(ValueError, match="z1 must hold at least 2 pairs"):
            loss(z1[:1], z2[:1])
    with pytest.raises(ValueError, match="gamma"):
        distributed.vicreg_loss(z1, z2, gamma=0.0)
    with pytest.raises(ValueError, match="off_diagonal"):
        distributed.barlow_twins_loss(z1, z2, off_diagonal=-1.0)
    with pytest.raises(ValueError, match="input"):
        distributed.SyncBatchNorm(3)(torch.ones(3))


def test_pretrain_refuses_what_it_cannot_train_across_processes():
    enc = ssl.ConvEncoder(in_channels=1, width=2, out_dim=4)
    pirl = ssl.PIRL(enc, ssl.MemoryBank(N, 4), n_negatives=2)
    with pytest.raises(TypeError, match="method must be a ContrastiveMethod whose loss"):
        ddp.pretrain(pirl, _images().float())
    with pytest.raises(TypeError, match="config"):
        ddp.pretrain(_method("vicreg"), _images(), config={"batch_size": 4})
    with pytest.raises(ValueError, match="X must hold at least config.batch_size=16 images"):
        ddp.pretrain(_method("vicreg"), _images(), ssl.PretrainConfig(batch_size=16))


def test_pretrain_in_one_process_is_ssl_pretrain():
    one, here = _trained("moco", ssl.pretrain), _trained("moco", ddp.pretrain)
    assert torch.equal(one["loss"], here["loss"])


def test_the_entry_point_says_clearly_when_cifar10_is_not_there(tmp_path):
    with pytest.raises(SystemExit, match="--data-dir"):
        ddp.main(["--data", "cifar10"])
    with pytest.raises(SystemExit, match="torchvision|no CIFAR-10"):
        ddp.main(["--data", "cifar10", "--data-dir", str(tmp_path)])


def test_the_entry_point_reports_a_batch_size_that_the_processes_cannot_share(capsys):
    with pytest.raises(SystemExit, match="batch_size must be >= 2"):
        ddp.main(["--batch-size", "1", "--epochs", "0"])


def test_pretrain_gives_the_method_its_own_views_back():
    method = _method("simclr")
    ddp.pretrain(method, _images(), ssl.PretrainConfig(epochs=1, batch_size=4))
    assert method.augment is _noisy_view


def _fake_torchvision(monkeypatch, cifar10) -> None:
    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(CIFAR10=cifar10)
    monkeypatch.setitem(sys.modules, "torchvision", fake)


def test_the_entry_point_reads_cifar10_from_data_dir_and_never_downloads(
    monkeypatch, tmp_path, capsys
):
    seen = []

    def cifar10(root, train, download):
        seen.append((root, train, download))
        if root != str(tmp_path):
            raise RuntimeError("Dataset not found or corrupted.")
        n = 48 if train else 16
        rng = np.random.default_rng(int(train))
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        return types.SimpleNamespace(data=images, targets=[i % 10 for i in range(n)])

    _fake_torchvision(monkeypatch, cifar10)
    with pytest.raises(SystemExit, match="no CIFAR-10 in '/nowhere'.*nothing is downloaded"):
        ddp.main(["--data", "cifar10", "--data-dir", "/nowhere"])
    argv = ["--data", "cifar10", "--data-dir", str(tmp_path), "--epochs", "1"]
    argv += ["--batch-size", "16", "--width", "2", "--method", "barlow"]
    accuracy = ddp.main(argv + ["--save", str(tmp_path / "encoder.pt")])
    assert 0.0 <= accuracy <= 1.0
    assert "fc.weight" in torch.load(tmp_path / "encoder.pt")
    assert all(download is False for _, _, download in seen)
    assert "barlow on cifar10 (48, 3, 32, 32): 1 process(es)" in capsys.readouterr().out
