"""Where nnfast's training messages go: the terminal (interactive logging, Keras's default)
or Python's ``logging`` (logger ``"nnfast"``, level INFO) as plain lines.

Example:
    >>> nnfast.config.disable_interactive_logging()
    >>> model.fit(x, y)   # "Epoch 1/2" and one line per epoch through logging.info
"""
import logging
import sys

_INTERACTIVE = [True]
logger = logging.getLogger("nnfast")


def enable_interactive_logging():
    """Training messages and progress bars are written to ``sys.stdout`` (the default)."""
    _INTERACTIVE[0] = True


def disable_interactive_logging():
    """Training messages go to ``logging.getLogger("nnfast").info`` as plain lines, and
    progress bars print one line per finished epoch (no live redraws)."""
    _INTERACTIVE[0] = False


def is_interactive_logging_enabled():
    """True when messages go to ``sys.stdout`` (see ``disable_interactive_logging``)."""
    return _INTERACTIVE[0]


def print_msg(message, line_break=True):
    """Writes ``message`` to stdout, or to the ``nnfast`` logger when interactive logging
    is disabled (without trailing newlines)."""
    message = str(message)
    if _INTERACTIVE[0]:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logger.info(message.strip("\r\n"))
