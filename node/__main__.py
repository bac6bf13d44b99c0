"""`python -m allmende.node` is the `allmende` command."""

from allmende.node.cli import main

main(prog_name="allmende")
