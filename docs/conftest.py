"""pytest, pointed at docs/, collects nothing here: the example scripts run during the
Sphinx build (tests/test_docs.py checks them), and importing them would run them."""

collect_ignore_glob = ["*.py", "*/*.py"]
