"""`nox -s bench`: what operators wait on, measured on this machine, printed as one table and
written as JSON (noa_ops/bench/figures.py). Each section (cli.py, validate.py, images.py, llama.py,
cluster.py) returns figures; none is ever asserted."""
