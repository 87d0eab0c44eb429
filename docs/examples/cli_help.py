"""``mmd-any test --help``, as the installed command prints it."""

import contextlib

from mmd_any.cli import main

for command in ("test", "distance"):
    print(f"$ mmd-any {command} --help")
    with contextlib.suppress(SystemExit):
        main([command, "--help"])
    print()
