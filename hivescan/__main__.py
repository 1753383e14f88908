"""``python -m hivescan`` runs the CLI (a triage run's worker pool started first: hivescan/clistart.py)."""

from hivescan.clistart import main

if __name__ == "__main__":
    main()
