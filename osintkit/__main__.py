"""`python -m osintkit` runs the command line."""

from osintkit.cli import main

if __name__ == "__main__":
    main()
