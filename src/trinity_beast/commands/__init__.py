"""``beast`` subcommands: each module here defines ``register(subparsers)``.

``register`` adds its parser(s) and sets ``func`` (``Callable[[argparse.Namespace], int]``) as the
parser default. The CLI finds every module of this package; adding a command edits nothing else.
"""
