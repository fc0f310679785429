"""Streaming: a training split over the memory budget is read from disk batch by batch,
with the batches, the normalisers and the results of the in-memory run."""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from test_cfdbench_tasks import cavity_tree

from opbench import run as runner
from opbench.config import parse_set
from opbench.data import DATASETS, SampleSet, load_benchmark
from opbench.data.base import held_whole
from opbench.data.streaming import StreamedSampleSet, budget_bytes, physical_memory_bytes
from opbench.errors import DataError
from opbench.models import build_surrogate

CONFIG = "cubic0.1_grid16"
TINY = 1e-6
"""A budget (GiB) no training split fits in: forces streaming."""


def test_a_streamed_split_yields_the_in_memory_batches():
    generator = torch.Generator().manual_seed(0)
    tensors = {"x": torch.randn(40, 2, 3, generator=generator), "n": torch.arange(40)}
    rows = np.array([1, 3, 4, 8, 9, 11, 20, 21, 30, 39])
    reads = []

    def read(asked: np.ndarray) -> dict:
        assert np.all(np.diff(asked) > 0)  # increasing and distinct, as h5py needs
        reads.append(len(asked))
        return {name: t[torch.from_numpy(asked)] for name, t in tensors.items()}

    streamed = StreamedSampleSet(read, rows, ("x", "n"))
    in_memory = SampleSet(tensors).select(rows.tolist())
    assert len(streamed) == len(in_memory) and streamed.keys == in_memory.keys
    for seed in (0, 1):
        pairs = zip(
            streamed.batches(4, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            in_memory.batches(4, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            strict=True,
        )
        for a, b in pairs:
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert max(reads) == 4  # never more than a batch in memory
    assert [len(c["x"]) for c in streamed.chunks(3, keys=("x",))] == [3, 3, 3, 1]


def test_the_default_budget_is_half_the_memory():
    assert budget_bytes(None) == physical_memory_bytes() // 2
    assert budget_bytes(0.5) == 2**29


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    DATASETS.get("condiff").generate(CONFIG, root, n_train=40, n_test=8, workers=1)
    return root


def test_condiff_streams_what_it_would_hold(data_root):
    streamed = load_benchmark("condiff", CONFIG, data_dir=data_root, max_memory_gb=TINY)
    in_memory = load_benchmark("condiff", CONFIG, data_dir=data_root)
    assert isinstance(streamed.splits["train"], StreamedSampleSet)
    assert isinstance(in_memory.splits["train"], SampleSet)
    assert streamed.info == in_memory.info
    for split in ("val", "test"):
        a, b = streamed.splits[split].tensors, in_memory.splits[split].tensors
        assert all(torch.equal(a[k], b[k]) for k in b)
    generators = [torch.Generator().manual_seed(3) for _ in range(2)]
    batches = [
        list(b.splits["train"].batches(7, shuffle=True, generator=g))
        for b, g in zip((streamed, in_memory), generators, strict=True)
    ]
    for a, b in zip(*batches, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in b)

    surrogates = []
    for benchmark in (streamed, in_memory):
        surrogate = build_surrogate("unet", benchmark.task, {"width": 4, "depth": 1})
        surrogate.fit_normalizers_on(benchmark.splits["train"])
        surrogates.append(surrogate)
    for name in ("input_norm", "output_norm"):
        a, b = (getattr(s, name) for s in surrogates)
        assert torch.equal(a.mean, b.mean) and torch.equal(a.std, b.std)


def test_a_streamed_run_scores_as_the_in_memory_run(data_root, tmp_path):
    in_memory, streamed = _runs(
        "condiff",
        "unet",
        ["model.width=4", "model.depth=1"],
        tmp_path,
        config=CONFIG,
        data_dir=data_root,
    )
    assert streamed == in_memory


def _same_batches(streamed, in_memory, batch_size: int = 5) -> None:
    """The training splits of two benchmarks give equal batches for two seeds, and their
    validation and test splits are equal."""
    for split in ("val", "test"):
        a, b = streamed.splits[split].tensors, in_memory.splits[split].tensors
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in b)
    for seed in (0, 1):
        pairs = zip(
            streamed.splits["train"].batches(
                batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
            ),
            in_memory.splits["train"].batches(
                batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
            ),
            strict=True,
        )
        for a, b in pairs:
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in b)


def _runs(family: str, model: str, sets: list[str], tmp_path: Path, **where) -> list[dict]:
    """A 2-epoch run in memory, then streamed: what must agree of their records (the run
    hash, the epochs without their seconds, the metrics)."""
    runs = []
    for budget in ([], [f"data.max_memory_gb={TINY}"]):
        overrides = parse_set([*sets, *budget])
        spec = runner.resolve(model, family, epochs=2, overrides=overrides, **where)
        record = runner.run(spec, tmp_path, progress=False).record.to_json()
        history = [
            {k: v for k, v in e.items() if k != "seconds"} for e in record["train"]["history"]
        ]
        runs.append(
            {"run_hash": record["run_hash"], "history": history, "metrics": record["metrics"]}
        )
    return runs


@pytest.mark.parametrize("task", ["autoregressive", "nonautoregressive"])
def test_cfdbench_streams_its_training_cases_from_their_files(task, tmp_path):
    """A streamed CFDBench training split keeps no frames (its cases are StoredCase) and
    reads each batch's frames from the memory-mapped .npy files: the same batches, the
    same run."""
    root = cavity_tree(tmp_path / "cfdbench")
    streamed = load_benchmark("cfdbench", "cavity/bc", task, data_dir=root, max_memory_gb=TINY)
    in_memory = load_benchmark("cfdbench", "cavity/bc", task, data_dir=root)
    assert isinstance(streamed.splits["train"], StreamedSampleSet)
    assert isinstance(in_memory.splits["train"], SampleSet)
    assert streamed.info == in_memory.info
    _same_batches(streamed, in_memory)
    model = "unet" if task == "autoregressive" else "deeponet"
    in_memory, streamed = _runs(
        "cfdbench", model, ["model.width=8"], tmp_path, config="cavity/bc", task=task, data_dir=root
    )
    assert streamed == in_memory


def test_airfrans_streams_its_training_simulations(tmp_path):
    """A streamed AirfRANS training split reads each batch's simulations from the files
    (through the parse cache), padded to the same node count: the same node-sampled
    batches, the same target statistics and the same run."""
    pytest.importorskip("pyvista")
    from opbench.data.airfrans.generate import GenerationOptions, generate

    root = tmp_path / "airfrans"
    generate(root, GenerationOptions(n_train=10, n_test=3, n_around=80, n_normal=16), workers=1)
    streamed = load_benchmark("airfrans", "full", data_dir=root, max_memory_gb=TINY, n_points=300)
    in_memory = load_benchmark("airfrans", "full", data_dir=root, n_points=300)
    assert isinstance(streamed.splits["train"].whole, StreamedSampleSet)
    assert isinstance(in_memory.splits["train"].whole, SampleSet)
    # the fitted baseline fits on every node when held, and refuses a streamed split
    assert held_whole(in_memory.splits["train"]) is in_memory.splits["train"].whole
    assert held_whole(streamed.splits["train"]) is None
    assert streamed.info == in_memory.info
    _same_batches(streamed, in_memory, batch_size=3)
    in_memory, streamed = _runs(
        "airfrans", "mlp", ["model.width=8", "data.n_points=300"], tmp_path, data_dir=root
    )
    assert streamed == in_memory


def test_the_fitted_baselines_refuse_a_streamed_split(data_root, tmp_path):
    spec = runner.resolve(
        "linear",
        "condiff",
        config=CONFIG,
        data_dir=data_root,
        overrides=parse_set([f"data.max_memory_gb={TINY}"]),
    )
    with pytest.raises(DataError, match="streamed from disk"):
        runner.run(spec, tmp_path, progress=False)


PEAK = """
import json, re, sys, torch
from opbench.data import load_benchmark
from opbench.models import build_surrogate
options = json.loads(sys.argv[2])
bench = load_benchmark("condiff", "cubic0.1_grid64", data_dir=sys.argv[1], **options)
surrogate = build_surrogate("unet", bench.task, {"width": 4, "depth": 1})
surrogate.fit_normalizers_on(bench.splits["train"])
seen = sum(len(b["x"]) for b in bench.splits["train"].batches(32, shuffle=True))
status = open("/proc/self/status").read()  # VmHWM: this program's peak (ru_maxrss is not
peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024  # reset by exec)
print(json.dumps({"peak_mb": peak,
                  "seen": seen, "mean": surrogate.input_norm.mean.tolist()}))
"""


def _peak(root: Path, **options) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PEAK, str(root), json.dumps(options)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="reads the peak from /proc/self/status")
def test_peak_memory_stays_bounded_when_streaming(tmp_path):
    """A 1500-sample 64² file in the published layout (random but valid values; the
    loader does not solve anything): held in memory it costs ~300 MB at its peak, streamed
    under a 20 MB budget the peak stays within ~100 MB of the interpreter's own."""
    n, g = 1500, 64
    folder = tmp_path / "cubic0.1_grid64"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("test", 8)):
        with h5py.File(folder / f"cubic0.1_grid64_{split}.h5", "w") as file:
            file["k"] = np.exp(rng.standard_normal((count, g + 1, g + 1)))
            file["rhs"] = rng.standard_normal((count, g * g))
            file["x"] = rng.standard_normal((count, g * g))
    baseline = _peak(tmp_path, n_train=2)
    held = _peak(tmp_path)
    streamed = _peak(tmp_path, max_memory_gb=0.02)
    assert held["seen"] == streamed["seen"] == n - round(0.1 * n)
    assert held["mean"] == streamed["mean"]
    assert held["peak_mb"] - baseline["peak_mb"] > 250
    assert streamed["peak_mb"] - baseline["peak_mb"] < 100
