"""``python -m kodo_jobs`` runs the CLI."""

from kodo_jobs.cli import main

if __name__ == "__main__":
    main()
