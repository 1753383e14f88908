"""``python -m hivescan`` runs the CLI."""

from hivescan.cli import main

if __name__ == "__main__":
    main()
