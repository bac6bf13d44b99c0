"""`python -m node` is the `allmende` command."""

from node.cli import main

main(prog_name="allmende")
