"""ebmlab.bench.machine: the CPU line printed under every benchmark table."""

from ebmlab.bench import machine


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: {flags}\n\n")
    return str(path)


def test_the_widest_vector_instructions_are_named(tmp_path):
    assert machine(_cpuinfo(tmp_path, "fpu sse2 avx avx2 avx512f avx512bw")).startswith(
        "Some CPU 9000, AVX-512, "
    )
    assert "Some CPU 9000, AVX2, " in machine(_cpuinfo(tmp_path, "fpu sse2 avx avx2 fma"))
    assert ", no AVX2, " in machine(_cpuinfo(tmp_path, "fpu sse2"))


def test_without_the_file_the_instructions_are_unknown(tmp_path):
    line = machine(str(tmp_path / "absent"))
    assert "instruction set unknown" in line and line.endswith(" cores")
