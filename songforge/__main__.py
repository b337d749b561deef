"""``python -m songforge`` runs the command line."""

from songforge.cli import main

if __name__ == "__main__":
    main()
