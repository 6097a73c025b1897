"""``python -m services.cli``: the ``uc`` command."""

from services.cli.main import main

if __name__ == "__main__":
    main()
