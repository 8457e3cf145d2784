"""``monitor completion bash|zsh|fish``: a completion script written from the parser.

The script is static (commands, sub-commands, options and their choices, read from the
argparse tree when it is printed), so a Tab costs the shell nothing: argcomplete would
start Python, and this package's imports, on every key press. zsh runs the bash
function through ``bashcompinit``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

FILE_OPTIONS = ("--config",)


@dataclass
class _Node:
    """One command level: its sub-commands, its options and each option's choices."""

    path: tuple[str, ...]
    help: dict[str, str] = field(default_factory=dict)  # sub-command -> its help
    options: dict[str, str] = field(default_factory=dict)  # --option -> its help
    choices: dict[str, list[str]] = field(default_factory=dict)  # --option -> values
    positional: list[str] = field(default_factory=list)  # choices of a positional
    takes_value: set[str] = field(default_factory=set)


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...], out: list[_Node]) -> None:
    node = _Node(path)
    out.append(node)
    children: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                node.help[choice.dest] = choice.help or ""
            children.update(action.choices)
        elif action.option_strings:
            for opt in action.option_strings:
                if opt.startswith("--"):
                    node.options[opt] = (action.help or "").replace("%%", "%")
                    if action.nargs != 0:
                        node.takes_value.add(opt)
                    if action.choices:
                        node.choices[opt] = [str(c) for c in action.choices]
        elif action.choices:
            node.positional += [str(c) for c in action.choices]
    for name, child in children.items():
        _walk(child, (*path, name), out)


def _tree(parser: argparse.ArgumentParser) -> list[_Node]:
    out: list[_Node] = []
    _walk(parser, (), out)
    return out


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    nodes = _tree(parser)
    if shell == "fish":
        return _fish(nodes)
    script = _bash(nodes)
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script


def _bash(nodes: list[_Node]) -> str:
    cases = []
    for n in nodes:
        words = " ".join([*n.help, *n.positional, *n.options])
        cases.append(f'        "{" ".join(n.path)}") words="{words}" ;;')
    values = []
    for n in nodes:
        for opt, choices in n.choices.items():
            values.append(f'        "{" ".join(n.path)}|{opt}") words="{" ".join(choices)}" ;;')
    takes = sorted({o for n in nodes for o in n.takes_value})
    subs = sorted({f"{' '.join(n.path)}|{c}" for n in nodes for c in n.help})
    return f"""# bash completion for monitor (news-monitor); eval "$(monitor completion bash)"
_monitor() {{
    local cur prev path="" i w words
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local takes=" {" ".join(takes)} " subs=" {" ".join(s.replace(" ", "+") for s in subs)} "
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        if [[ "$takes" == *" $w "* ]]; then ((i++)); continue; fi
        if [[ "$subs" == *" ${{path// /+}}|$w "* ]]; then path="${{path:+$path }}$w"; fi
    done
    case "$prev" in
        {"|".join(FILE_OPTIONS)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    words=""
    case "$path|$prev" in
{chr(10).join(values)}
    esac
    if [[ -z "$words" && "$takes" == *" $prev "* ]]; then return; fi
    if [[ -z "$words" ]]; then
        case "$path" in
{chr(10).join(cases)}
        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _monitor monitor"""


def _fish(nodes: list[_Node]) -> str:
    lines = ["# fish completion for monitor (news-monitor); monitor completion fish | source"]
    lines.append("complete -c monitor -f")
    every = sorted({c for n in nodes for c in n.help})
    for n in nodes:
        if n.path:
            cond = " && ".join(f"__fish_seen_subcommand_from {p}" for p in n.path)
            inner = [c for c in n.help]
            if inner:
                cond += f" && not __fish_seen_subcommand_from {' '.join(inner)}"
        else:
            cond = f"not __fish_seen_subcommand_from {' '.join(every)}"
        for name, help_text in n.help.items():
            lines.append(f"complete -c monitor -n {_q(cond)} -a {name} -d {_q(help_text)}")
        if n.positional:
            lines.append(f"complete -c monitor -n {_q(cond)} -a {_q(' '.join(n.positional))}")
        for opt, help_text in n.options.items():
            line = f"complete -c monitor -n {_q(cond)} -l {opt[2:]} -d {_q(help_text)}"
            if opt in n.choices:
                line += f" -x -a {_q(' '.join(n.choices[opt]))}"
            elif opt in FILE_OPTIONS:
                line += " -r -F"
            elif opt in n.takes_value:
                line += " -x"
            lines.append(line)
    return "\n".join(lines)


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
