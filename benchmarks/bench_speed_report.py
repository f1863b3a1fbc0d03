"""speed_report.py's writing side, on made-up measurements (no timing): it
replaces only its own section of BENCHMARKS.md, and a run with peers missing
still renders every target row, saying why a value is absent."""
import speed_report as S


def fake_results(with_peers=True):
    t = {"fastmlp@2": [0.10, 0.11, 0.12], "fastmlp@1": [0.15, 0.16, 0.17],
         "fastmlp-estimator@2": [0.11, 0.12, 0.13], "numpy@1": [0.30, 0.31, 0.32],
         "numpy@2": [0.20, 0.21, 0.22]}
    if with_peers:
        t.update({"torch@1": [0.5, 0.5, 0.5], "torch@2": [0.4, 0.45, 0.5],
                  "sklearn@1": [0.6, 0.6, 0.6], "sklearn@2": [0.5, 0.5, 0.5]})
    skipped = {} if with_peers else {"torch": "torch not installed", "sklearn": "sklearn not installed"}
    epoch = {"times": {label: dict(t) for label, _, _ in S.P.EPOCH_CONFIGS}, "skipped": skipped,
             "rows": 60000}
    one = {"fastmlp": (2.5, 4.0, 20000)}
    kilo = {"fastmlp": (900.0, 1200.0, 2000), "fastmlp@1": (1500.0, 1700.0, 2000)}
    if with_peers:
        one.update({"onnxruntime@1": (12.0, 20.0, 20000), "torch@1": (30.0, 50.0, 20000),
                    "sklearn@1": (170.0, 250.0, 20000)})
        kilo.update({"onnxruntime@1": (1100.0, 1300.0, 2000), "onnxruntime@2": (950.0, 1250.0, 2000),
                     "torch@1": (2000.0, 2500.0, 2000), "torch@2": (1700.0, 2100.0, 2000),
                     "sklearn@1": (2500.0, 2900.0, 2000), "sklearn@2": (2000.0, 2600.0, 2000)})
    predict = {"1": one, "1000": kilo, "how": {}, "alloc": {"traced_bytes": 136, "output_data_bytes": 40},
               "skipped": {} if with_peers else {"onnxruntime": "onnxruntime not installed"},
               "concurrent": {"1": {"1": 1e5, "8": 1.5e5, "equal": True},
                              "1000": {"1": 900.0, "8": 1700.0, "equal": True}}}
    gemm = {"rows": [{"dtype": d, "layer": list(l), "orientation": o, "fastmlp": 90.0, "numpy": 80.0,
                      "peak": 100.0}
                     for d in ("float32", "float64") for l in ((32, 784, 128), (128, 784, 128),
                                                               (512, 1024, 1024))
                     for o in ("fwd X@W.T", "dX dZ@W", "dW dZ.T@X")], "probe_isa": "avx2"}
    MiB = 1 << 20
    memory = {"fit": {"rows": 60000, "x_bytes": 188160000, "epochs": 3, "rss_imports": 180 * MiB,
                      "rss_x": 360 * MiB, "peak": 380 * MiB, "peak_reset": True, "fit_seconds": 9.0,
                      "data": "MNIST train, first 60000 rows", "hidden": 800, "growth": 200 * MiB,
                      "limit": 188160000 + 64 * MiB, "fit_extra": 20 * MiB, "ok": True},
              "predict": {"rows": 1000000, "hidden": 800, "out_bytes": 40000000,
                          "hidden_array_bytes": 3200000000, "anon_before": 130 * MiB,
                          "anon_peak": 170 * MiB, "extra": 2 * MiB, "limit": 16 * MiB, "ok": True,
                          "outputs_match": True, "control_growth": 365 * MiB, "control_rows": 50000,
                          "control_hidden_bytes": 160000000}}
    machine = {"cpu": "a CPU", "cores": 2, "usable_cores": 2, "cpu_isa_flags": "avx2, fma",
               "fastmlp_isa": "avx2", "fastmlp_isas": "generic, avx2", "fastmlp": "0.1.0",
               "python": "3.11", "numpy": "2.4", "torch": "2.13.0", "onnxruntime": "1.31",
               "sklearn": "1.9", "skl2onnx": "1.20", "threadpoolctl": "3.8", "os": "Linux",
               "date": "today"}
    return {"machine": machine, "repeat": 3, "peak_runs": 7, "quick": False, "load": (0.1, 0.2), "memory": memory,
            "peaks": {"1": 100.0, "2": 200.0}, "epoch": epoch, "predict": predict, "gemm": gemm,
            "trajectory": {"loss_rel": 1e-16, "weights_rel": 2e-16, "rows": 60000, "loss": 0.3}}


def test_every_target_has_a_row():
    rows = S.target_rows(fake_results())
    assert len(rows) == 18
    assert all(len(r) == 4 for r in rows)
    text = S.render(fake_results())
    assert text.startswith(S.BEGIN) and text.rstrip().endswith(S.END)
    assert "not measured here" in text          # the reference machine's numbers are labelled


def test_missing_peers_render_as_not_installed():
    text = S.render(fake_results(with_peers=False))
    assert "torch not installed" in text and "onnxruntime not installed" in text


def test_write_section_replaces_only_its_own(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    other = "<!-- accuracy:begin -->\n## Accuracy\n\nkept as is\n<!-- accuracy:end -->\n"
    path.write_text("# fastmlp benchmarks\n\n## GEMM\n\nthe GEMM table\n\n" + other)
    S.write_section(str(path), S.BEGIN + "\nfirst\n" + S.END + "\n")
    S.write_section(str(path), S.BEGIN + "\nsecond\n" + S.END + "\n")
    text = path.read_text()
    assert text.count(S.BEGIN) == 1 and "second" in text and "first" not in text
    assert "the GEMM table" in text and other in text


def test_write_section_creates_the_file(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    S.write_section(str(path), S.render(fake_results()))
    assert path.read_text().startswith("# fastmlp benchmarks")
