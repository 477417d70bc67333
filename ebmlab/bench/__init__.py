"""The benchmarks of the book's appendix, side by side with their peers in one process:
:mod:`~ebmlab.bench.kmeans`, :mod:`~ebmlab.bench.sparse`, :mod:`~ebmlab.bench.ssl`
(``ebmlab bench NAME`` or ``python -m ebmlab.bench.NAME``). ``import ebmlab`` never loads them.
"""
