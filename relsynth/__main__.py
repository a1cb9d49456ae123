"""python -m relsynth"""

from relsynth.cli import main

main(prog_name="relsynth")
