"""Liquid for mail: the sandboxed environment, the filters, the variable tree and the checks at save."""
