"""``genesys-auth completion bash|zsh|fish``: a shell completion script, generated from the argument parser.

The scripts are written from the parser's subcommands and options at run time, so they always offer what
this version of the command accepts: option values with fixed choices (``-X``, ``completion``'s shell)
complete to those choices, numbers (``login --port N``, ``--timeout SECONDS``) to nothing, other option
values to file names.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .common import EXIT_OK, NUMBER_TYPES, PROG

SHELLS = ("bash", "zsh", "fish")
#: A word the scripts can hold without quoting (option strings, subcommand names, choices).
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*|--?[A-Za-z0-9][A-Za-z0-9_-]*")
_FUNCTION = "_genesys_auth"

DESCRIPTION = f"""\
Print a completion script for SHELL on stdout. Load it in the current shell, or install it:

  bash:  source <({PROG} completion bash)           # or save it in ~/.local/share/bash-completion/completions/{PROG}
  zsh:   source <({PROG} completion zsh)            # after compinit; or save it as _{PROG} in a directory of $fpath
  fish:  {PROG} completion fish | source            # or save it in ~/.config/fish/completions/{PROG}.fish"""


@dataclass(frozen=True)
class Option:
    """One option of a command, as the scripts need it.

    Attributes:
        flags: Its option strings, such as ``("-X", "--method")``.
        help: What it does (one line).
        takes_value: Whether a value follows it.
        choices: The values it accepts, when they are a fixed list; else empty.
        repeatable: Whether it may be given more than once.
        number: Whether its value is a number (nothing to complete, not even a file name).
    """

    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]
    repeatable: bool
    number: bool = False


@dataclass(frozen=True)
class Command:
    """A subcommand (or, with an empty name, the program itself) with its options and positional choices."""

    name: str
    help: str
    options: tuple[Option, ...]
    positional_choices: tuple[str, ...]


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``completion`` subcommand."""
    parser = subcommands.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``genesys-auth completion``."""
    from . import build_parser  # the whole parser, which imports this module

    print(script(build_parser(), args.shell), end="")
    return EXIT_OK


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser``'s program for ``shell``.

    Raises:
        ValueError: An unknown shell, or a name or choice that would need quoting in a script.
    """
    root, commands = commands_of(parser)
    writers = {"bash": _bash, "zsh": _zsh, "fish": _fish}
    if shell not in writers:
        raise ValueError(f"no completion for {shell!r}: use one of {', '.join(SHELLS)}")
    for word in _words(root, commands):
        if not _WORD.fullmatch(word):
            raise ValueError(f"{word!r} cannot be written into a completion script unquoted")
    return "\n".join(writers[shell](root, commands)) + "\n"


def commands_of(parser: argparse.ArgumentParser) -> tuple[Command, list[Command]]:
    """The program's own options, and each subcommand's."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {a.dest: a.help or "" for sub in subparsers for a in sub._choices_actions}
    commands = [
        _command(name, helps.get(name, ""), subparser) for sub in subparsers for name, subparser in sub.choices.items()
    ]
    return _command("", parser.description or "", parser), commands


def _command(name: str, help_text: str, parser: argparse.ArgumentParser) -> Command:
    options: list[Option] = []
    positional: tuple[str, ...] = ()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if not action.option_strings:
            positional += tuple(str(choice) for choice in action.choices or ())
            continue
        options.append(
            Option(
                flags=tuple(action.option_strings),
                help=_one_line(action.help or ""),
                takes_value=action.nargs != 0,
                choices=tuple(str(choice) for choice in _choices(action)),
                repeatable=isinstance(action, (argparse._AppendAction, argparse._CountAction)),
                number=action.type in NUMBER_TYPES,
            )
        )
    return Command(name, _one_line(help_text), tuple(options), positional)


def _choices(action: argparse.Action) -> tuple[str, ...]:
    if action.choices is not None:
        return tuple(str(choice) for choice in action.choices)
    # -X checks its value with a function; its accepted values are listed next to it.
    from .api import METHODS, http_method

    return METHODS if action.type is http_method else ()


def _one_line(text: str) -> str:
    """A help text reduced to what every shell shows safely: no quotes, brackets, colons or backslashes."""
    text = re.sub(r"""[\[\]'"`$\\]""", "", text.replace(":", ",").replace("%%", "%"))
    text = " ".join(text.split())
    return text if len(text) <= 72 else text[:69].rsplit(" ", 1)[0] + "..."


def _words(root: Command, commands: list[Command]) -> Iterator[str]:
    for command in (root, *commands):
        if command.name:
            yield command.name
        yield from command.positional_choices
        for option in command.options:
            yield from option.flags
            yield from option.choices


def _bash(root: Command, commands: list[Command]) -> Iterator[str]:
    names = " ".join(c.name for c in commands)
    yield f"# bash completion for {PROG}: generated by `{PROG} completion bash`."
    yield f"{_FUNCTION}() {{"
    yield "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} command= i"
    yield "    for ((i = 1; i < COMP_CWORD; i++)); do"
    yield f"        case ${{COMP_WORDS[i]}} in {names.replace(' ', '|')}) command=${{COMP_WORDS[i]}}; break ;; esac"
    yield "    done"
    yield "    COMPREPLY=()"
    yield "    case $command in"
    for command in (root, *commands):
        pattern = command.name or '""'
        yield f"        {pattern})"
        valued = [option for option in command.options if option.takes_value]
        if valued:
            yield "            case $prev in"
            for option in valued:
                values = " ".join(option.choices)
                # No choices: leave COMPREPLY empty and let `complete -o default` offer file names; a number
                # turns that off for this completion.
                reply = f'COMPREPLY=($(compgen -W "{values}" -- "$cur"))' if values else ":"
                if option.number:
                    reply = "compopt +o default 2>/dev/null"
                yield f"                {'|'.join(option.flags)}) {reply}; return ;;"
            yield "            esac"
        flags = " ".join(flag for option in command.options for flag in option.flags)
        others = names if not command.name else " ".join(command.positional_choices)
        yield "            if [[ $cur == -* ]]; then"
        yield f'                COMPREPLY=($(compgen -W "{flags}" -- "$cur"))'
        if others:
            yield "            else"
            yield f'                COMPREPLY=($(compgen -W "{others}" -- "$cur"))'
        yield "            fi"
        yield "            ;;"
    yield "    esac"
    yield "}"
    yield f"complete -o default -F {_FUNCTION} {PROG}"


def _zsh(root: Command, commands: list[Command]) -> Iterator[str]:
    yield f"#compdef {PROG}"
    yield f"# zsh completion for {PROG}: generated by `{PROG} completion zsh`."
    yield ""
    yield f"{_FUNCTION}() {{"
    yield "    local curcontext=$curcontext state line"
    yield "    local -a commands"
    yield "    commands=("
    for command in commands:
        yield f"        '{command.name}:{command.help}'"
    yield "    )"
    yield "    _arguments -C \\"
    for spec in _zsh_specs(root):
        yield f"        {spec} \\"
    yield "        '1:command:->command' \\"
    yield "        '*::argument:->argument'"
    yield "    case $state in"
    yield "        command) _describe -t commands command commands ;;"
    yield "        argument)"
    yield "            case $words[1] in"
    for command in commands:
        yield f"                {command.name}) _arguments \\"
        for spec in _zsh_specs(command):
            yield f"                    {spec} \\"
        positional = f"({' '.join(command.positional_choices)})" if command.positional_choices else " "
        yield f"                    '*:argument:{positional}' ;;"
    yield "            esac ;;"
    yield "    esac"
    yield "}"
    yield ""
    yield "# Autoloaded from $fpath: complete now; sourced: register the function."
    yield f'if [[ $funcstack[1] == {_FUNCTION} ]]; then {_FUNCTION} "$@"; else compdef {_FUNCTION} {PROG}; fi'


def _zsh_specs(command: Command) -> Iterator[str]:
    for option in command.options:
        exclusive = "*" if option.repeatable else f"({' '.join(option.flags)})"
        value = ""
        if option.takes_value:
            value = f":value:({' '.join(option.choices)})" if option.choices else ":value:_files"
            if option.number:
                value = ":number: "  # a message, no completion
        for flag in option.flags:
            yield f"'{exclusive}{flag}[{option.help}]{value}'"


def _fish(root: Command, commands: list[Command]) -> Iterator[str]:
    yield f"# fish completion for {PROG}: generated by `{PROG} completion fish`."
    yield f"complete -c {PROG} -f"
    for command in commands:
        yield f"complete -c {PROG} -n __fish_use_subcommand -a {command.name} -d '{command.help}'"
    for command in (root, *commands):
        condition = "__fish_use_subcommand" if not command.name else f"'__fish_seen_subcommand_from {command.name}'"
        if command.positional_choices:
            yield f"complete -c {PROG} -n {condition} -a '{' '.join(command.positional_choices)}'"
        for option in command.options:
            parts = [f"complete -c {PROG} -n {condition}"]
            for flag in option.flags:
                parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
            if option.choices:
                parts.append(f"-x -a '{' '.join(option.choices)}'")
            elif option.number:
                parts.append("-x")  # a value, and no file names
            elif option.takes_value:
                parts.append("-r -F")
            parts.append(f"-d '{option.help}'")
            yield " ".join(parts)
